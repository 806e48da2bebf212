"""Admin for what GHL tells us: webhook deliveries (with the quarantine), refusals, email events, and the replies inbox.

Deliveries, refusals and events are read-only: the webhook receiver writes
them. In the replies inbox a person may change one thing, the classification
(through `outreach.inbound.replies.reclassify`, which holds its consequences), and
mark replies handled.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from import_export.admin import ExportMixin

from caio.admin import ReadOnlyAdmin
from compliance.spreadsheet import SafeExportMixin

from outreach.inbound import replies
from outreach.models import EmailEvent, Reply, WebhookDelivery, WebhookRefusal
from outreach.leads.resources import EmailEventResource
from outreach.inbound.webhooks import webhook_figures


class DeliveryStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("applied", "Applied"), ("waiting", "Waiting for a retry"), ("quarantined", "Quarantined")]

    def queryset(self, request, queryset):
        if self.value() == "applied":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "waiting":
            return queryset.filter(processed_at__isnull=True, quarantined_at__isnull=True)
        if self.value() == "quarantined":
            return queryset.filter(processed_at__isnull=True, quarantined_at__isnull=False)
        return queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_type", "stamped", "dedupe_key", "processed_at", "attempts", "quarantined_at", "outcome", "error"]
    list_filter = [DeliveryStateFilter, "stamped", "event_type"]
    search_fields = ["dedupe_key", "webhook_id"]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "webhook_figures": webhook_figures()}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(WebhookRefusal)
class WebhookRefusalAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "reason", "detail", "event_type", "location_id", "size"]
    list_filter = ["reason"]
    search_fields = ["detail", "location_id", "body_sha256"]


@admin.register(EmailEvent)
class EmailEventAdmin(SafeExportMixin, ExportMixin, ReadOnlyAdmin):
    resource_classes = [EmailEventResource]
    list_display = ["occurred_at", "kind", "detail", "lead", "card"]
    list_filter = ["kind"]
    list_select_related = ["lead", "card"]
    raw_id_fields = ["lead", "card"]


class HandledFilter(admin.SimpleListFilter):
    title = "handled"
    parameter_name = "handled"

    def lookups(self, request, model_admin):
        return [("no", "Not handled"), ("yes", "Handled")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(handled_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(handled_at__isnull=False)
        return queryset


OPT_OUT_NOTE = (
    "Opt-out suppresses the lead everywhere at once, as the unsubscribe link does. "
    "Moving a reply away from opt-out does NOT lift that suppression: that is a separate, deliberate change on the lead. "
    "Reclassifying never restarts a stopped sequence."
)


class ReplyForm(forms.ModelForm):
    handled = forms.BooleanField(required=False, help_text="Someone has dealt with this reply.")

    class Meta:
        model = Reply
        fields = ["classification"]
        help_texts = {"classification": OPT_OUT_NOTE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["handled"].initial = self.instance.handled_at is not None


@admin.register(Reply)
class ReplyAdmin(admin.ModelAdmin):
    """The replies inbox: unhandled first, newest first; filter by classification; reclassify and mark handled."""

    form = ReplyForm
    list_display = ["received_at", "classification_badge", "lead_shown", "snippet", "step_shown", "handled_shown"]
    list_display_links = ["received_at", "snippet"]
    list_filter = [HandledFilter, "classification", "channel"]
    list_select_related = ["lead", "card", "card__step"]
    search_fields = ["lead__email", "lead__company", "subject", "text"]
    show_full_result_count = False
    list_per_page = 50
    actions = ["mark_handled", "mark_not_handled"]

    def changelist_view(self, request, extra_context=None):
        # An inbox, not Django's "Select reply to change".
        return super().changelist_view(request, extra_context={"title": "Replies", **(extra_context or {})})
    fields = [
        "classification", "handled", "written_text", "lead", "step_shown", "subject", "received_at",
        "classification_reason", "classified_by", "classified_at", "suppression_shown",
        "text", "card", "channel", "handled_at", "handled_by", "ghl_message_id", "delivery", "event",
    ]
    readonly_fields = [
        "classification_reason", "classified_by", "classified_at", "suppression_shown", "lead", "card", "step_shown",
        "received_at", "channel", "subject", "written_text", "text", "handled_at", "handled_by", "ghl_message_id",
        "delivery", "event",
    ]

    class Media:
        css = {"all": ["outreach/replies.css"]}

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="classification", ordering="classification")
    def classification_badge(self, reply: Reply) -> str:
        return format_html('<span class="reply-class reply-{}">{}</span>', reply.classification, reply.get_classification_display())

    @admin.display(description="lead", ordering="lead__email")
    def lead_shown(self, reply: Reply) -> str:
        lead = reply.lead
        company = f" · {lead.company}" if lead.company else ""
        return format_html("{}{}", lead.full_name or lead.email, company)

    @admin.display(description="text")
    def snippet(self, reply: Reply) -> str:
        text = " ".join(replies.own_lines(reply.text)) or reply.subject or "(no text)"
        return text if len(text) <= 120 else text[:119] + "…"

    @admin.display(description="card and step")
    def step_shown(self, reply: Reply) -> str:
        if reply.card_id is None:
            return "-"
        url = reverse("admin:outreach_pendingemail_change", args=[reply.card_id])
        return format_html('<a href="{}">{} step {}</a>', url, reply.card.campaign_ref, reply.card.step.number)

    @admin.display(description="handled", boolean=True, ordering="handled_at")
    def handled_shown(self, reply: Reply) -> bool:
        return reply.handled_at is not None

    @admin.display(description="what the sender wrote")
    def written_text(self, reply: Reply) -> str:
        return format_html('<div class="reply-text">{}</div>', "\n".join(replies.own_lines(reply.text)) or "(nothing above the quote)")

    @admin.display(description="lead's suppression")
    def suppression_shown(self, reply: Reply) -> str:
        lead = reply.lead
        if lead.unsubscribed_at is None:
            return "not unsubscribed"
        url = reverse("admin:outreach_lead_change", args=[lead.pk])
        return format_html(
            'unsubscribed since {} UTC. Changing this classification does not lift it (<a href="{}">the lead</a>).',
            f"{lead.unsubscribed_at:%Y-%m-%d %H:%M}", url,
        )

    def save_model(self, request, obj, form, change):
        reply = Reply.objects.select_related("lead").get(pk=obj.pk)
        if "classification" in form.changed_data:
            messages.info(request, replies.reclassify(reply, form.cleaned_data["classification"], by=request.user))
        if "handled" in form.changed_data:
            chosen = Reply.objects.filter(pk=reply.pk)
            if form.cleaned_data["handled"]:
                replies.mark_handled(chosen, by=request.user)
            else:
                replies.mark_not_handled(chosen)

    @admin.action(description="Mark selected replies handled", permissions=["change"])
    def mark_handled(self, request, queryset):
        count = replies.mark_handled(queryset, by=request.user)
        messages.info(request, f"{count} repl{'y' if count == 1 else 'ies'} marked handled.")

    @admin.action(description="Mark selected replies not handled", permissions=["change"])
    def mark_not_handled(self, request, queryset):
        count = replies.mark_not_handled(queryset)
        messages.info(request, f"{count} repl{'y' if count == 1 else 'ies'} back in the inbox.")
