"""Exclusion rules in the admin: excluded domains and the do-not-contact list, each
editable by hand or imported from CSV (preview first, with an error per bad row),
and the read-only suppression history."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from import_export import fields, resources, widgets
from import_export.admin import ImportExportModelAdmin

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


class ExcludedDomainResource(RuleResource):
    domain = fields.Field(attribute="domain", column_name="domain", widget=DomainWidget())

    class Meta:
        model = ExcludedDomain
        fields = ("domain", "reason")
        # Re-importing a list updates the reasons instead of failing on duplicates.
        import_id_fields = ("domain",)
        skip_unchanged = True
        report_skipped = True


class DoNotContactResource(RuleResource):
    email = fields.Field(attribute="email", column_name="email", widget=EmailWidget())

    class Meta:
        model = DoNotContact
        fields = ("email", "reason")
        import_id_fields = ("email",)
        skip_unchanged = True
        report_skipped = True


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
class SuppressionAdmin(admin.ModelAdmin):
    """History written by suppress_lead; nobody edits it."""

    list_display = ["created_at", "email", "kind", "source", "note"]
    list_filter = ["kind", "source"]
    search_fields = ["email"]
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
