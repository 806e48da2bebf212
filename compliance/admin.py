"""Exclusion rules in the admin: excluded domains and the do-not-contact list, each
editable by hand or imported from CSV (preview first, with an error per bad row
and the open cards and leads the new rules will hit), the read-only suppression
history, and the identity collisions a person resolves.

Every rule write here (save, delete, the delete action, the import) goes
through `compliance.services`, which re-checks the open cards at once."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from import_export import fields, widgets
from import_export.admin import ImportExportModelAdmin
from import_export.results import Result

from caio.admin import ReadOnlyAdmin
from compliance.identity import both_forms, canonical_domain, mailbox_key
from compliance.impact import Impact, impact_of, impact_of_rules
from compliance.models import DoNotContact, ExcludedDomain, IdentityCollision, Suppression
from compliance.services import RuleValues, remove_rule, remove_rules, rule_values, rules_changed, save_rule
from compliance.spreadsheet import SafeImportMixin, SafeResource


def as_entered_if_different(canonical: str, entered: str) -> str:
    """Both spellings where they differ: the canonical one, then what was typed."""
    if entered and entered != canonical:
        return format_html("{} <span class=\"as-entered\">(entered as “{}”)</span>", canonical, entered)
    return canonical


class DomainWidget(widgets.CharWidget):
    """Accept "@Customer.com", "https://www.customer.com/", "Bücher.example"; refuse what is not a domain."""

    def clean(self, value, row=None, **kwargs):
        try:
            return canonical_domain(str(value or ""))
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None


class EntryWidget(widgets.CharWidget):
    """A do-not-contact entry: an address, or a whole domain written "*@customer.com" (or "@customer.com")."""

    def clean(self, value, row=None, **kwargs):
        try:
            email, domain = DoNotContact.parse_entry(str(value or ""))
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None
        return email or f"*@{domain}"


class EntryField(fields.Field):
    def save(self, instance, row, is_m2m=False, **kwargs):
        self.clean(row, **kwargs)  # raises the row's error
        instance.set_entry(str(row.get(self.column_name) or ""))

    def get_value(self, instance):
        return instance.entry


class RuleImportResult(Result):
    """An import's result, with what its new rules will hit (set on the preview, the dry run)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.impact: Impact | None = None


class RuleResource(SafeResource):
    """A rule import reaches the queue like a rule saved by hand, wherever the import runs.

    Each row whose rule values are new (or removed) is remembered; after a real
    import the rules-changed hook re-checks the open cards they hit, in the
    import's transaction. After the dry run the same rules give the preview of
    the cards and leads they will hit (`RuleImportResult.impact`). A row that
    only changes a reason hits nothing new and is in neither.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.changed_rules: list[RuleValues] = []

    @classmethod
    def get_result_class(cls):
        return RuleImportResult

    def after_init_instance(self, instance, new, row, **kwargs):
        super().after_init_instance(instance, new, row, **kwargs)
        instance._stored_values = None if new else rule_values(instance)

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        values, before = rule_values(instance), getattr(instance, "_stored_values", None)
        if values != before:
            self.changed_rules.extend([values, *([before] if before else [])])

    def after_delete_instance(self, instance, row, **kwargs):
        super().after_delete_instance(instance, row, **kwargs)
        self.changed_rules.append(rule_values(instance))

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not self.changed_rules:
            return
        if kwargs.get("dry_run"):
            result.impact = impact_of_rules(self.changed_rules)
        else:
            rules_changed(self.changed_rules)

    def get_instance(self, instance_loader, row):
        # A malformed key cannot match a stored rule; treat the row as new so
        # the field's own error is shown on its row as a validation error.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None


class ExcludedDomainResource(RuleResource):
    """Columns: domain, reason. Re-importing a list updates the reasons instead of failing on duplicates."""

    domain = fields.Field(attribute="domain", column_name="domain", widget=DomainWidget())
    required_columns = ("domain",)

    class Meta:
        model = ExcludedDomain
        fields = ("domain", "reason")
        import_id_fields = ("domain",)
        skip_unchanged = True
        report_skipped = True

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        instance.domain_as_entered = str(row.get("domain") or "").strip()


class DoNotContactResource(RuleResource):
    """Columns: email (an address, or "*@domain" for everyone there), reason."""

    email = EntryField(attribute="email", column_name="email", widget=EntryWidget())
    required_columns = ("email",)

    class Meta:
        model = DoNotContact
        fields = ("email", "reason")
        import_id_fields = ("email",)
        skip_unchanged = True
        report_skipped = True

    def get_instance(self, instance_loader, row):
        try:
            email, domain = DoNotContact.parse_entry(str(row.get("email") or ""))
        except ValidationError:
            return None
        rules = DoNotContact.objects.filter(email=email) if email else DoNotContact.objects.filter(email__isnull=True, domain=domain)
        return rules.first()


class ExclusionRuleAdmin(SafeImportMixin, ImportExportModelAdmin):
    """Importing rules is adding rules: it needs the add permission (operators).

    Saving, deleting (one, or selected ones with the action) and importing go
    through compliance.services, so the open cards are checked again at once.
    """

    import_template_name = "admin/compliance/rule_import.html"

    def has_import_permission(self, request):
        return self.has_add_permission(request)

    def save_model(self, request, obj, form, change):
        self._say_rechecked(request, save_rule(obj))

    def delete_model(self, request, obj):
        self._say_rechecked(request, remove_rule(obj))

    def delete_queryset(self, request, queryset):
        self._say_rechecked(request, remove_rules(queryset))

    def _say_rechecked(self, request, changed: int) -> None:
        if changed:
            messages.info(request, f"{changed} open card(s) were checked again and changed their compliance result.")


class PreviewedRuleForm(forms.ModelForm):
    """A rule is saved only after the person has seen the open cards and leads it will hit.

    The first submit of a new or changed rule stops with the preview
    (`impact`) and remembers which rule was previewed; saving the same rule
    again saves it. Changing the rule after the preview asks for a new one.
    """

    previewed = forms.CharField(required=False, widget=forms.HiddenInput)
    impact: Impact | None = None

    def rule_values(self) -> tuple[str | None, str] | None:
        """The canonical (email, domain) the form would save, or None when it cannot be read yet."""
        raise NotImplementedError

    def stored_values(self) -> tuple[str | None, str] | None:
        raise NotImplementedError

    def clean_rule(self, cleaned: dict) -> dict:
        """Check and read the rule's own fields (before the preview)."""
        return cleaned

    @property
    def stored_as(self) -> str:
        """What the previewed rule will be stored as, in words: what was typed may read otherwise."""
        values = self.rule_values()
        if values is None:
            return ""
        email, domain = values
        if email:
            local, _, at = email.rpartition("@")
            key = mailbox_key(email)
            same = "" if key == email else f", and every spelling of the mailbox {key}"
            return f"the address {local}@{both_forms(at)}{same}"
        return f"{self.rule_words} {both_forms(domain)} and its subdomains"

    def clean(self):
        cleaned = self.clean_rule(super().clean())
        values = None if self.errors else self.rule_values()
        if values is None or (self.instance.pk and values == self.stored_values()):
            return cleaned
        key = f"{values[0] or ''}|{values[1]}"
        if cleaned.get("previewed") == key:
            return cleaned
        self.impact = impact_of(email=values[0], domain=values[1])
        # The next submit of this same rule is the confirmation.
        self.data = self.data.copy()
        self.data[self.add_prefix("previewed")] = key
        raise ValidationError(f"{self.impact.summary()} Check the list below, then save again to confirm.")


class ExcludedDomainForm(PreviewedRuleForm):
    rule_words = "the excluded domain"

    class Meta:
        model = ExcludedDomain
        fields = ["domain", "reason"]

    def rule_values(self) -> tuple[str | None, str] | None:
        try:
            return None, canonical_domain(self.cleaned_data.get("domain") or "")
        except ValidationError:
            return None

    def stored_values(self) -> tuple[str | None, str] | None:
        return None, ExcludedDomain.objects.get(pk=self.instance.pk).domain


class RulePreviewAdmin(ExclusionRuleAdmin):
    change_form_template = "admin/compliance/rule_change_form.html"


@admin.register(ExcludedDomain)
class ExcludedDomainAdmin(RulePreviewAdmin):
    form = ExcludedDomainForm
    resource_classes = [ExcludedDomainResource]
    list_display = ["domain_shown", "reason", "created_at"]
    search_fields = ["domain", "domain_as_entered", "reason"]
    fields = ["domain", "domain_as_entered", "reason", "created_at", "previewed"]
    readonly_fields = ["domain_as_entered", "created_at"]

    @admin.display(description="domain", ordering="domain")
    def domain_shown(self, rule: ExcludedDomain) -> str:
        return as_entered_if_different(rule.domain, rule.domain_as_entered)


class DoNotContactForm(PreviewedRuleForm):
    rule_words = "everyone at"
    entry = forms.CharField(
        max_length=2048, help_text="An address (ana@customer.com), or everyone at a domain and its subdomains (*@customer.com)."
    )

    class Meta:
        model = DoNotContact
        fields = ["reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["entry"].initial = self.instance.entry

    def clean_rule(self, cleaned: dict) -> dict:
        if "entry" in cleaned:
            try:
                self.instance.set_entry(cleaned["entry"])
            except ValidationError as exc:
                self.add_error("entry", exc)
            else:
                # `email` and `domain` are not form fields, so the form's unique check skips them.
                same = DoNotContact.objects.exclude(pk=self.instance.pk)
                if self.instance.email and same.filter(email=self.instance.email).exists() or (
                    not self.instance.email and same.filter(email__isnull=True, domain=self.instance.domain).exists()
                ):
                    self.add_error("entry", f"{self.instance.entry} is already on the do-not-contact list.")
        return cleaned

    def rule_values(self) -> tuple[str | None, str] | None:
        # clean() above has already parsed the entry onto the instance.
        return self.instance.email, self.instance.domain

    def stored_values(self) -> tuple[str | None, str] | None:
        stored = DoNotContact.objects.get(pk=self.instance.pk)
        return stored.email, stored.domain

    def add_error(self, field, error):
        # The model names its own fields; on this form both are typed in `entry`, already checked above.
        if field is None and isinstance(error, ValidationError) and hasattr(error, "error_dict"):
            moved: dict[str, list] = {}
            for key, errors in error.error_dict.items():
                key = "entry" if key in ("email", "domain") else key
                if key != "entry" or not self.has_error("entry"):
                    moved.setdefault(key, []).extend(errors)
            if not moved:
                return
            error = ValidationError(moved)
        super().add_error(field, error)


@admin.register(DoNotContact)
class DoNotContactAdmin(RulePreviewAdmin):
    form = DoNotContactForm
    resource_classes = [DoNotContactResource]
    list_display = ["entry_shown", "reason", "created_at"]
    search_fields = ["email", "domain", "as_entered", "reason"]
    fields = ["entry", "as_entered", "reason", "created_at", "previewed"]
    readonly_fields = ["as_entered", "created_at"]

    @admin.display(description="address or domain", ordering="email")
    def entry_shown(self, rule: DoNotContact) -> str:
        return as_entered_if_different(rule.entry, rule.as_entered)


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    """History written by suppress_lead; nobody edits it."""

    list_display = ["created_at", "email", "kind", "source", "note"]
    list_filter = ["kind", "source"]
    search_fields = ["email"]


class UnresolvedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Unresolved"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


class IdentityCollisionForm(forms.ModelForm):
    class Meta:
        model = IdentityCollision
        fields = ["resolution_note"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.resolved_at is None:
            if not (cleaned.get("resolution_note") or "").strip():
                self.add_error("resolution_note", "Say what was decided; the collision is resolved when you save.")
            else:
                problem = self.instance.resolution_problem()
                if problem:
                    raise ValidationError(problem)
        return cleaned


@admin.register(IdentityCollision)
class IdentityCollisionAdmin(admin.ModelAdmin):
    """Written by the canonical-identity migration; a person resolves each one by saving a note."""

    form = IdentityCollisionForm
    list_display = ["created_at", "kind", "lead_link", "other_lead_id", "stored_value", "canonical_value", "resolved_at"]
    list_filter = [UnresolvedFilter, "kind"]
    search_fields = ["stored_value", "canonical_value", "detail"]
    readonly_fields = [
        "kind", "lead_link", "other_lead_id", "stored_value", "canonical_value", "detail", "created_at", "resolved_at", "resolved_by",
    ]
    fields = [*readonly_fields, "resolution_note"]

    @admin.display(description="lead", ordering="lead_id")
    def lead_link(self, collision: IdentityCollision) -> str:
        url = reverse("admin:outreach_lead_change", args=[collision.lead_id])
        return format_html('<a href="{}">lead {}</a>', url, collision.lead_id)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.resolved_at is not None:
            return [*self.readonly_fields, "resolution_note"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if obj.resolved_at is None:
            obj.resolve(by=request.user, note=form.cleaned_data["resolution_note"])
            messages.success(request, f"Resolved: open cards of lead {obj.lead_id} are no longer held back by it.")
