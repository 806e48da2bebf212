"""CSV import and export of leads (django-import-export).

Import: every row is checked before anything is written, and the admin shows
each bad row by number with its reasons (an address or domain the canonical
form refuses, unknown tier, duplicate of an existing lead or of an earlier
row, a cell that looks like a spreadsheet formula, a control character in a
contact field, a row the file reader could not fit to the header). Only the
good rows are written, after the person confirms.
Export: any cell a spreadsheet could run as a formula is neutralised
(compliance.spreadsheet.SafeResource, the base of every resource).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from import_export import fields
from import_export.instance_loaders import BaseInstanceLoader

from compliance.identity import canonical_email, mailbox_key
from compliance.spreadsheet import SafeResource, control_character_problem, looks_like_formula
from outreach.models import CardTransition, EmailEvent, KnownIdentities, Lead, PendingEmail, Tier

TEXT_COLUMNS = ("first_name", "last_name", "company", "title", "source", "domain")
# Sent to GHL as contact fields: no line break or control character may reach it.
CONTACT_COLUMNS = ("first_name", "last_name", "company", "title")
# Addresses looked up per query when finding the stored leads of a file.
LOOKUP_BATCH = 500


def canonical_or_none(value) -> str | None:
    try:
        return canonical_email(str(value or "").strip())
    except ValidationError:
        return None


def key_or_none(value) -> str | None:
    """The matching key of a cell's address (compliance.identity.mailbox_key): what duplicates compare."""
    email = canonical_or_none(value)
    return mailbox_key(email) if email else None


class CanonicalEmailLoader(BaseInstanceLoader):
    """Finds each row's stored lead by mailbox key from one query per LOOKUP_BATCH rows, not one per row.

    The rows it is asked about have been through `LeadResource.before_import_row`,
    so their "email" is already canonical. `identities` holds what the leads' own
    checks (recorded opt-outs, duplicates) read, for every key of the dataset at once.
    """

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        keys: set[str] = set()
        if dataset is not None and "email" in (dataset.headers or []):
            keys = {key for key in map(key_or_none, dataset["email"]) if key}
        ordered = sorted(keys)
        self.leads: dict[str, Lead] = {}
        for start in range(0, len(ordered), LOOKUP_BATCH):
            self.leads.update((lead.email_key, lead) for lead in Lead.objects.filter(email_key__in=ordered[start : start + LOOKUP_BATCH]))
        self.identities = KnownIdentities(keys)

    def get_instance(self, row):
        lead = self.leads.get(row.get("email_key"))
        if lead is not None:
            row["stored_email"] = lead.email
        return lead


class LeadResource(SafeResource):
    required_columns = ("email",)
    # Beside the canonical email, so the preview and the export show both; set from the row's email, never read.
    email_as_entered = fields.Field(attribute="email_as_entered", column_name="email_as_entered", readonly=True)

    class Meta:
        model = Lead
        fields = ("email", "email_as_entered", "first_name", "last_name", "company", "title", "tier", "source", "domain")
        import_id_fields = ("email",)
        instance_loader_class = CanonicalEmailLoader
        clean_model_instances = True
        skip_unchanged = False
        # The preview shows a summary, not each row's before and after: computing that diff doubled the cost of a row.
        skip_diff = True

    # When a list, new leads are collected here instead of saved one by one; the caller
    # (outreach.leads.imports) writes them with one bulk insert per chunk.
    deferred_creates: list[Lead] | None = None

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        # mailbox key -> the first row number that carried it, to report duplicates inside the file.
        self._first_row_of_email: dict[str, int] = {}

    def remember_rows(self, rows) -> None:
        """Count `rows` (the first rows of the file, already imported) as read, for duplicates within the file."""
        for number, row in enumerate(rows, start=1):
            key = key_or_none(row.get("email"))
            if key:
                self._first_row_of_email.setdefault(key, number)

    def before_import_row(self, row, **kwargs):
        # Canonical first, so "Celia@X.com" or "celia@x.com." finds the stored "celia@x.com" as a duplicate.
        entered = str(row.get("email") or "").strip()
        row["email_as_entered"] = entered
        try:
            row["email"] = canonical_email(entered)
            row["email_key"] = mailbox_key(row["email"])
            row["email_refusal"] = ""
        except ValidationError as exc:
            row["email"] = entered
            row["email_refusal"] = exc.messages[0]
        if "tier" in row:
            row["tier"] = (row.get("tier") or "").strip().lower().replace(" ", "_")
        for column in TEXT_COLUMNS:
            if isinstance(row.get(column), str):
                row[column] = row[column].strip()

    def import_row(self, row, instance_loader, **kwargs):
        # The loader read the dataset's identities before any row: still true for every row only when nothing
        # is written until the end (a preview, or a chunk whose creates are deferred; that chunk checks again
        # before writing). A row written at once changes what the next one must see: it reads its own.
        reads_once = kwargs.get("dry_run") or self.deferred_creates is not None
        self._row_identities = getattr(instance_loader, "identities", None) if reads_once else None
        return super().import_row(row, instance_loader, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        instance.known_identities = getattr(self, "_row_identities", None)
        super().import_instance(instance, row, **kwargs)
        instance.email_as_entered = row.get("email_as_entered", "")

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # The loader found no stored lead with this address and row_problems refuses a repeat within the file:
        # asking the database again for every row would only repeat that.
        super().validate_instance(instance, import_validation_errors, validate_unique=False)

    def save_instance(self, instance, is_create, row, **kwargs):
        if kwargs.get("dry_run"):
            # A preview keeps nothing, and nothing it checks needs the row stored: stored leads come from the
            # loader, earlier rows of the file from _first_row_of_email. Not writing halves a row's cost.
            return
        if is_create and self.deferred_creates is not None:
            # full_clean (clean_model_instances) already made the address and domain canonical, as save() would.
            self.deferred_creates.append(instance)
            return
        super().save_instance(instance, is_create, row, **kwargs)

    def row_problems(self, instance: Lead, row, row_number: int | None) -> list[tuple[str, str]]:
        problems = []
        key = row.get("email_key", "")
        if row.get("email_refusal"):
            problems.append(("email", row["email_refusal"]))
        elif key:
            # An earlier row of the file first: within the import's transaction it is already "stored".
            if key in self._first_row_of_email:
                problems.append(("email", f"Duplicate of row {self._first_row_of_email[key]} in this file."))
            elif instance.pk is not None:
                stored = row.get("stored_email") or row.get("email", "")
                problems.append(("email", f"Duplicate: a lead with {stored} already exists; it is left unchanged."))
            else:
                self._first_row_of_email[key] = row_number
        tier = row.get("tier", "")
        if tier not in Tier.values:
            known = ", ".join(Tier.values)
            problems.append(("tier", f"Unknown tier “{tier}”: use one of {known}." if tier else f"Tier is missing: use one of {known}."))
        for column in TEXT_COLUMNS:
            if looks_like_formula(row.get(column)):
                problems.append((column, f"“{row[column][:40]}” looks like a spreadsheet formula; remove the leading “{row[column][0]}”."))
        for column in CONTACT_COLUMNS:
            problem = control_character_problem(row.get(column))
            if problem:
                problems.append((column, problem))
        return problems


class CardResource(SafeResource):
    """Email cards as a reviewer or auditor reads them (export only)."""

    lead_email = fields.Field(attribute="lead__email", column_name="lead_email")

    class Meta:
        model = PendingEmail
        fields = (
            "code", "lead_email", "campaign_ref", "classifier", "status", "subject", "body", "footer",
            "created_at", "reviewed_at", "sent_at", "rejection_note", "last_error",
        )
        export_order = fields


class CardTransitionResource(SafeResource):
    """The audit trail of card states (export only)."""

    card_code = fields.Field(attribute="card__code", column_name="card_code")
    who = fields.Field(attribute="who", column_name="who")

    class Meta:
        model = CardTransition
        fields = ("card_code", "from_status", "to_status", "who", "reason", "created_at")
        export_order = fields


class EmailEventResource(SafeResource):
    """What happened to sent emails (export only)."""

    lead_email = fields.Field(attribute="lead__email", column_name="lead_email")
    card_code = fields.Field(attribute="card__code", column_name="card_code")

    class Meta:
        model = EmailEvent
        fields = ("lead_email", "card_code", "kind", "occurred_at")
        export_order = fields
