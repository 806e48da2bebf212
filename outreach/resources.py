"""CSV import and export of leads (django-import-export).

Import: every row is checked before anything is written, and the admin shows
each bad row by number with its reasons (bad email, unknown tier, duplicate of
an existing lead or of an earlier row, a cell that looks like a spreadsheet
formula). Only the good rows are written, after the person confirms.
Export: any cell a spreadsheet could run as a formula is neutralised.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from import_export import resources

from outreach.models import Lead, Tier, normalize_email

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = ("first_name", "last_name", "company", "title", "source", "domain")


def looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def neutralise_formula(value):
    """Return the value as a spreadsheet shows it as text: a leading apostrophe disarms a formula."""
    return f"'{value}" if looks_like_formula(value) else value


class LeadResource(resources.ModelResource):
    class Meta:
        model = Lead
        fields = ("email", "first_name", "last_name", "company", "title", "tier", "source", "domain")
        import_id_fields = ("email",)
        clean_model_instances = True
        skip_unchanged = False

    def before_import(self, dataset, **kwargs):
        # email -> the first row number that carried it, to report duplicates inside the file.
        self._first_row_of_email: dict[str, int] = {}

    def before_import_row(self, row, **kwargs):
        # Normalise first, so "Celia@X.com" finds the stored "celia@x.com" as a duplicate.
        row["email"] = normalize_email(row.get("email") or "")
        if "tier" in row:
            row["tier"] = (row.get("tier") or "").strip().lower().replace(" ", "_")
        for column in TEXT_COLUMNS:
            if isinstance(row.get(column), str):
                row[column] = row[column].strip()

    def import_instance(self, instance, row, **kwargs):
        """Fill the lead from the row, then raise every problem of the row at once."""
        errors: dict[str, list[str]] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for column, problem in self.row_problems(instance, row, kwargs.get("row_number")):
            errors.setdefault(column, []).append(problem)
        if errors:
            raise ValidationError(errors)

    def row_problems(self, instance: Lead, row, row_number: int | None) -> list[tuple[str, str]]:
        problems = []
        email = row.get("email", "")
        if not email:
            problems.append(("email", "Email is missing."))
        else:
            try:
                validate_email(email)
            except ValidationError:
                problems.append(("email", f"“{email}” is not a valid email address."))
            # An earlier row of the file first: within the import's transaction it is already "stored".
            if email in self._first_row_of_email:
                problems.append(("email", f"Duplicate of row {self._first_row_of_email[email]} in this file."))
            elif instance.pk is not None:
                problems.append(("email", f"Duplicate: a lead with {email} already exists; it is left unchanged."))
            else:
                self._first_row_of_email[email] = row_number
        tier = row.get("tier", "")
        if tier not in Tier.values:
            known = ", ".join(Tier.values)
            problems.append(("tier", f"Unknown tier “{tier}”: use one of {known}." if tier else f"Tier is missing: use one of {known}."))
        for column in TEXT_COLUMNS:
            if looks_like_formula(row.get(column)):
                problems.append((column, f"“{row[column][:40]}” looks like a spreadsheet formula; remove the leading “{row[column][0]}”."))
        return problems

    def export_field(self, field, instance, **kwargs):
        return neutralise_formula(super().export_field(field, instance, **kwargs))
