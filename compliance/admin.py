"""Exclusion rules in the admin: excluded domains and the do-not-contact list, each
editable by hand or imported from CSV (preview first, with an error per bad row),
and the read-only suppression history."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from import_export import fields, resources, widgets
from import_export.admin import ImportExportModelAdmin

from caio.admin import ReadOnlyAdmin
from compliance.models import DoNotContact, ExcludedDomain, Suppression, normalize_domain


class DomainWidget(widgets.CharWidget):
    """Accept "@Customer.com", "https://www.customer.com/"; refuse what is not a domain."""

    def clean(self, value, row=None, **kwargs):
        try:
            return normalize_domain(str(value or ""))
        except ValidationError as exc:
            raise ValueError(exc.messages[0]) from None


class EmailWidget(widgets.CharWidget):
    def clean(self, value, row=None, **kwargs):
        email = str(value or "").strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise ValueError(f"{value!r} is not an email address.") from None
        return email


class RuleResource(resources.ModelResource):
    def get_instance(self, instance_loader, row):
        # A malformed key cannot match a stored rule; treat the row as new so
        # the field's own error is shown on its row as a validation error.
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            return None


def rule_resource(model, key: str, widget: widgets.Widget) -> type[RuleResource]:
    """Return the CSV resource of a rule list keyed by `key` (columns: key, reason).

    Re-importing a list updates the reasons instead of failing on duplicates.
    """
    meta = type("Meta", (), {
        "model": model, "fields": (key, "reason"), "import_id_fields": (key,), "skip_unchanged": True, "report_skipped": True,
    })
    attributes = {key: fields.Field(attribute=key, column_name=key, widget=widget), "Meta": meta}
    return type(f"{model.__name__}Resource", (RuleResource,), attributes)


ExcludedDomainResource = rule_resource(ExcludedDomain, "domain", DomainWidget())
DoNotContactResource = rule_resource(DoNotContact, "email", EmailWidget())


class ExclusionRuleAdmin(ImportExportModelAdmin):
    """Importing rules is adding rules: it needs the add permission (operators)."""

    def has_import_permission(self, request):
        return self.has_add_permission(request)


@admin.register(ExcludedDomain)
class ExcludedDomainAdmin(ExclusionRuleAdmin):
    resource_classes = [ExcludedDomainResource]
    list_display = ["domain", "reason", "created_at"]
    search_fields = ["domain", "reason"]
    readonly_fields = ["created_at"]


@admin.register(DoNotContact)
class DoNotContactAdmin(ExclusionRuleAdmin):
    resource_classes = [DoNotContactResource]
    list_display = ["email", "reason", "created_at"]
    search_fields = ["email", "reason"]
    readonly_fields = ["created_at"]


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    """History written by suppress_lead; nobody edits it."""

    list_display = ["created_at", "email", "kind", "source", "note"]
    list_filter = ["kind", "source"]
    search_fields = ["email"]
