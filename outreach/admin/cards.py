"""The review desk: the email-card queue and the card page of the Head of Sales.

Every decision calls `outreach.review`; this module only shows cards and turns
clicks into service calls (and refusals into messages).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST
from import_export.admin import ExportMixin

from compliance.models import Suppression
from compliance.spreadsheet import SafeExportMixin
from outreach import checks, eligibility, review
from outreach.eligibility import ELIGIBLE, Conditions
from outreach.models import CardStatus, EmailEvent, ModelCall, PendingEmail, Reply
from outreach.drafting.contract import card_facts, card_grounding_failures, marked_segments
from outreach.sending.render import render
from outreach.leads.resources import CardResource
from outreach.review import ReviewRefused

# How many earlier emails, events, replies and suppressions of the lead the card page lists:
# a bound, so the page costs the same however long the lead's story.
EARLIER_EMAILS_SHOWN = 20
# How many eligible cards the card page lists beside the email.
QUEUE_SHOWN = 12
# How many characters of the body the queue shows under the subject.
SNIPPET_CHARS = 140
# The session key naming the card the reviewer may still undo.
UNDO_SESSION_KEY = "review_undo_card"
# How many refusal reasons one bulk message spells out before summarising.
REFUSALS_SPELLED_OUT = 15


def queue_conditions(request: HttpRequest) -> Conditions:
    """Return the eligibility conditions (cutoff, sendable tiers, canaries), read once per request."""
    if not hasattr(request, "_eligibility_conditions"):
        request._eligibility_conditions = Conditions.current()
    return request._eligibility_conditions


class QueueFilter(admin.SimpleListFilter):
    """The eligibility slices; with no choice made the queue opens on the eligible cards."""

    title = "queue"
    parameter_name = "queue"
    ALL = "all"

    def __init__(self, request, params, model, model_admin):
        # Filtering by a status other than pending means "show me those cards": do not
        # narrow them to the eligible slice behind the reviewer's back.
        self._status_chosen = "status__exact" in params
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        conditions = queue_conditions(request)
        choices = [(ELIGIBLE, "Eligible")]
        choices += [(code, "Held back: " + review.slice_label(code, conditions)) for code in eligibility.CODES]
        return choices + [(review.PENDING, "All pending"), (self.ALL, "All cards")]

    def value(self):
        value = super().value()
        if value in (*review.SLICES, self.ALL):
            return value
        return self.ALL if self._status_chosen else ELIGIBLE

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return review.queue_slice(queryset, self.value(), conditions=queue_conditions(request))


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    # (value, label, younger than, older than) in hours.
    BANDS = [
        ("lt30m", "Under 30 minutes", 0.5, None),
        ("30m-2h", "30 minutes – 2 hours", 2, 0.5),
        ("2h-24h", "2 – 24 hours", 24, 2),
        ("1d-3d", "1 – 3 days", 72, 24),
        ("gt3d", "Over 3 days", None, 72),
    ]

    def lookups(self, request, model_admin):
        return [(value, label) for value, label, _, _ in self.BANDS]

    def queryset(self, request, queryset):
        for value, _, younger, older in self.BANDS:
            if self.value() == value:
                now = timezone.now()
                if younger is not None:
                    queryset = queryset.filter(created_at__gt=now - dt.timedelta(hours=younger))
                if older is not None:
                    queryset = queryset.filter(created_at__lte=now - dt.timedelta(hours=older))
        return queryset


class SlaFilter(admin.SimpleListFilter):
    title = "review SLA"
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [
            ("any", "Breached"),
            ("first_review", "First review overdue"),
            ("decision", "Decision overdue"),
            ("ok", "Within SLA"),
        ]

    def queryset(self, request, queryset):
        if self.value() in ("any", "first_review", "decision"):
            return queryset.filter(review.sla_breach_q(self.value()))
        if self.value() == "ok":
            return queryset.filter(status=CardStatus.PENDING).exclude(review.sla_breach_q("any"))
        return queryset


def evidence(card: PendingEmail) -> dict | None:
    """What a model-drafted card rests on: its body with each claim marked with its fact, and what drafting it cost."""
    if card.drafter != "model":
        return None
    facts = card_facts(card)
    cited = {str(claim.get("fact", "")) for claim in card.claims or []}
    return {
        "segments": marked_segments(card.body, card.claims or [], facts),
        "facts": [fact for fact in facts if fact.id in cited],
        "ungrounded": card_grounding_failures(card),
        # What the output contract caught in earlier attempts at this card, sent back to the model.
        "caught": ModelCall.objects.filter(lead_id=card.lead_id, step_id=card.step_id, ok=True, created_at__lte=card.created_at)
        .values_list("reasons", flat=True)
        .first(),
    }


def snippet(body: str) -> str:
    """Return the body's opening as one line, cut at a word near SNIPPET_CHARS."""
    flat = " ".join(body.split())
    if len(flat) <= SNIPPET_CHARS:
        return flat
    return flat[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


@dataclass(frozen=True)
class ComplianceSummary:
    css: str
    short: str
    line: str


def compliance_summary(findings: list[dict] | None) -> ComplianceSummary:
    """Return the one line the desk shows for a compliance snapshot's findings (None: never checked)."""
    if findings is None:
        return ComplianceSummary("none", "not run", "Not checked yet: approving runs every check first.")
    failing = [finding for finding in findings if not finding.get("passed")]
    if not failing:
        return ComplianceSummary("pass", "pass", f"All {len(findings)} checks pass")
    names = ", ".join(finding.get("name", finding.get("id", "?")) for finding in failing)
    return ComplianceSummary("fail", f"{len(failing)} fail", f"{len(failing)} of {len(findings)} checks fail: {names}")


SLA_LABELS = {
    review.SLA_OK: ("ok", "within SLA"),
    review.SLA_FIRST_REVIEW_OVERDUE: ("late", "first review overdue"),
    review.SLA_DECISION_OVERDUE: ("late", "decision overdue"),
    review.SLA_DECIDED: ("done", "decided"),
}


@admin.register(PendingEmail)
class PendingEmailAdmin(SafeExportMixin, ExportMixin, admin.ModelAdmin):
    resource_classes = [CardResource]
    change_list_template = "admin/outreach/pendingemail/change_list.html"
    change_form_template = "admin/outreach/pendingemail/change_form.html"
    list_display = ["subject_link", "lead_column", "campaign_column", "status", "age_column", "compliance_column"]
    list_display_links = None
    list_filter = [QueueFilter, "status", ("lead__tier", admin.ChoicesFieldListFilter), "campaign", "classifier", "route", AgeFilter, SlaFilter]
    list_select_related = ["lead", "campaign", "step"]
    # A reviewer works the oldest cards first; 25 a page keeps the page quick to render and to read.
    list_per_page = 25
    # The full count is a second COUNT over the whole table on every page view.
    show_full_result_count = False
    search_fields = ["lead__email", "lead__first_name", "lead__last_name", "lead__company"]
    search_help_text = "Search by the lead's email, name or company."
    ordering = ["created_at", "pk"]
    actions = ["approve_selected", "reject_selected"]
    fieldsets = [
        ("Edit the email (any edit sends the card back to review and re-runs compliance)", {"fields": ["subject", "body"]}),
        (
            "Details",
            {
                "classes": ["collapse"],
                "fields": [
                    "status", "code", "idempotency_key", "classifier", "campaign_ref", "route", "drafter",
                    "template_version", "is_shadow", "is_canary", "created_at", "first_viewed_at", "last_edited_by",
                    "edited_at", "reviewed_by", "reviewed_at", "approved_content_hash", "rejection_tag", "rejection_note",
                    "dispatch_attempts", "queued_at", "sent_at", "ghl_contact_id", "ghl_conversation_id",
                    "ghl_message_id", "ghl_email_message_id", "last_error",
                ],
            },
        ),
    ]
    readonly_fields = fieldsets[1][1]["fields"]
    inlines: list = []

    # --- permissions: enforced here and again by the services --------------

    def has_add_permission(self, request, obj=None):
        return False  # cards are drafted by the pipeline, never typed in

    def has_delete_permission(self, request, obj=None):
        return False  # cards are rejected, never deleted: they are the audit trail

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status not in CardStatus.OPEN:
            return False
        return super().has_change_permission(request, obj)

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm(review.REVIEW_PERMISSION)

    # --- the queue ----------------------------------------------------------

    def action_checkbox(self, card):
        # The stock checkbox renders a form widget template per row: a third of a full page's time.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="Select this card for an action - {}">',
            admin.helpers.ACTION_CHECKBOX_NAME,
            card.pk,
            card.subject,
        )

    @admin.display(description="subject · opening", ordering="subject")
    def subject_link(self, card):
        changelist = reverse("admin:outreach_pendingemail_changelist")
        return format_html(
            '<a href="{}{}/change/">{}</a><div class="snippet">{}</div>',
            changelist, quote(card.pk), card.subject, snippet(card.body),
        )

    @admin.display(description="lead · company", ordering="lead__email")
    def lead_column(self, card):
        lead = card.lead
        return format_html(
            "<strong>{}</strong> · {}<br><small>{} · {}</small>", lead.full_name or lead.email, lead.company or "—", lead.email, lead.tier
        )

    @admin.display(description="campaign · step · classifier · route", ordering="campaign_ref")
    def campaign_column(self, card):
        return format_html(
            "{} · step {}<br><small>{} · {}</small>", card.campaign_ref, card.step.number, card.classifier, card.route
        )

    @admin.display(description="age · SLA", ordering="created_at")
    def age_column(self, card):
        css, label = SLA_LABELS[review.sla_state(card)]
        return format_html('{}<br><span class="sla sla-{}">{}</span>', timesince(card.created_at, depth=1), css, label)

    @admin.display(description="compliance", ordering="compliance_passed")
    def compliance_column(self, card):
        summary = compliance_summary(card.compliance.get("findings", []) if card.compliance else None)
        return format_html('<span class="badge badge-{}" title="{}">{}</span>', summary.css, summary.line, summary.short)

    def changelist_view(self, request, extra_context=None):
        # The hygiene line counts every pending card under its first eligibility
        # reason: a pass over the whole pending queue that grows with it (about
        # 45 ms of SQL at 8,000 pending cards). The list does not wait for it: the page
        # names where to read it and review.js fills it in as soon as the list is
        # shown (a link without JavaScript). The list's own total is the
        # paginator's count of the slice shown, which the eligible slice's index
        # keeps to the cards still young enough to send.
        extra_context = {
            "title": "Review queue",
            **(extra_context or {}),
            "hygiene_url": reverse("admin:outreach_pendingemail_hygiene"),
        }
        return super().changelist_view(request, extra_context)

    def hygiene_view(self, request):
        """The hygiene line, on its own: the pending queue split by first eligibility reason, each count a link to its slice."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        conditions = queue_conditions(request)
        split = review.queue_split(conditions=conditions)
        base = reverse("admin:outreach_pendingemail_changelist")

        def link(name: str, label: str):
            # The rule's message, on hover, says what the short label means.
            title = eligibility.rule(name).message if name in eligibility.CODES else label
            return format_html(
                '<a href="{}?{}" class="slice-{}" title="{}">{} {}</a>',
                base, urlencode({"queue": name}), name, title, split[name], label,
            )

        held_back = [link(code, review.slice_label(code, conditions)) for code in eligibility.CODES if split[code]]
        line = format_html(
            "{}, {}; held back: {}",
            link(review.PENDING, "pending"),
            link(ELIGIBLE, "eligible"),
            format_html_join(", ", "{}", ((item,) for item in held_back)) if held_back else "none",
        )
        return HttpResponse(line)

    # --- the card page ------------------------------------------------------

    def get_object(self, request, object_id, from_field=None):
        queryset = self.get_queryset(request).select_related(
            "lead", "campaign", "step", "enrollment", "reviewed_by", "last_edited_by", "rejection_tag"
        )
        model = queryset.model
        field = model._meta.pk if from_field is None else model._meta.get_field(from_field)
        try:
            return queryset.get(**{field.name: field.to_python(object_id)})
        except (model.DoesNotExist, ValidationError, ValueError, TypeError):
            return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        card = self.get_object(request, object_id)
        if card is not None and self.has_view_permission(request, card):
            if request.method == "GET":
                review.mark_viewed(card, user=request.user)
            extra_context = {**(extra_context or {}), **self.card_context(request, card)}
        return super().change_view(request, object_id, form_url, extra_context)

    def card_context(self, request, card: PendingEmail) -> dict:
        """Return what the card page shows beside the email: findings, lead, history, decisions."""
        if card.status in CardStatus.OPEN:
            # Show what an approval would see now (the lead may have unsubscribed since drafting).
            result = checks.evaluate(card)
            snapshot = result.snapshot()
        else:
            result, snapshot = None, card.compliance or {}
        earlier = (
            PendingEmail.objects.filter(lead_id=card.lead_id)
            .exclude(pk=card.pk)
            .select_related("campaign", "step", "rejection_tag")
            .order_by("-created_at")[:EARLIER_EMAILS_SHOWN]
        )
        may_review = self.has_review_permission(request)
        verdict = eligibility.judge_one(card) if card.status in CardStatus.OPEN else None
        conditions = queue_conditions(request)
        next_card = review.next_eligible(card, conditions=conditions)
        findings = snapshot.get("findings", [])
        return {
            "title": "Review email card" if may_review and card.status == CardStatus.PENDING else "Email card",
            "card": card,
            "email": render(card),
            "evidence": evidence(card),
            "findings": findings,
            "failing_findings": [finding for finding in findings if not finding.get("passed")],
            "compliance": compliance_summary(findings if snapshot else None),
            "compliance_known": bool(snapshot),
            "earlier_emails": list(earlier),
            "events": list(
                EmailEvent.objects.filter(lead_id=card.lead_id).select_related("card").order_by("-occurred_at")[:EARLIER_EMAILS_SHOWN]
            ),
            "replies": list(Reply.objects.filter(lead_id=card.lead_id).order_by("-received_at")[:EARLIER_EMAILS_SHOWN]),
            "suppressions": list(Suppression.objects.filter(lead_id=card.lead_id).order_by("-created_at")[:EARLIER_EMAILS_SHOWN]),
            "enrollment": card.enrollment,
            "queue_cards": list(review.eligible_cards(conditions=conditions).select_related("lead")[:QUEUE_SHOWN]),
            "undo": self.undo_offer(request) if may_review else None,
            "history": list(card.transitions.select_related("actor").order_by("created_at", "pk")),
            "may_review": may_review,
            "verdict": verdict,
            # Only a pending card is up for approval: on any other, "only pending cards can be approved" is noise.
            "approval_blockers": (
                review.approval_blockers(card, user=request.user, compliance=result, verdict=verdict)
                if may_review and card.status == CardStatus.PENDING else []
            ),
            "reject_tags": list(review.reviewer_tags()) if may_review else [],
            "can_reject": card.status in CardStatus.OPEN,
            "sla": SLA_LABELS[review.sla_state(card)],
            "next_card": next_card,
            "queue_url": reverse("admin:outreach_pendingemail_changelist"),
        }

    def undo_offer(self, request) -> dict | None:
        """Return the reviewer's last decision while it may still be undone: the card and the seconds left."""
        pk = request.session.get(UNDO_SESSION_KEY)
        if pk is None:
            return None
        card = PendingEmail.objects.filter(pk=pk, reviewed_by=request.user).select_related("lead").first()
        deadline = review.undo_deadline(card) if card is not None else None
        left = (deadline - timezone.now()).total_seconds() if deadline else 0
        if left <= 0:
            request.session.pop(UNDO_SESSION_KEY, None)
            return None
        return {"card": card, "seconds_left": int(left) + 1, "verb": card.get_status_display().lower()}

    # --- editing: through review.edit, never a plain save ------------------

    def save_model(self, request, obj, form, change):
        if not change:
            raise PermissionDenied
        try:
            review.edit(obj, user=request.user, subject=form.cleaned_data["subject"], body=form.cleaned_data["body"])
        except ReviewRefused as refused:
            request._card_edit_refused = True
            self.message_user(request, f"Not saved: {refused.reason}", messages.ERROR)

    def log_change(self, request, obj, message):
        if not getattr(request, "_card_edit_refused", False):
            return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if getattr(request, "_card_edit_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    # --- decisions ------------------------------------------------------------

    def get_urls(self):
        urls = super().get_urls()
        mine = [
            path("hygiene/", self.admin_site.admin_view(self.hygiene_view), name="outreach_pendingemail_hygiene"),
            path("<path:object_id>/approve/", self.admin_site.admin_view(self.approve_view), name="outreach_pendingemail_approve"),
            path("<path:object_id>/reject/", self.admin_site.admin_view(self.reject_view), name="outreach_pendingemail_reject"),
            path("<path:object_id>/undo/", self.admin_site.admin_view(self.undo_view), name="outreach_pendingemail_undo"),
        ]
        return mine + urls

    def _decision_card(self, request, object_id) -> PendingEmail:
        if not self.has_review_permission(request):
            raise PermissionDenied
        try:
            card = get_object_or_404(PendingEmail.objects.select_related("lead"), pk=object_id)
        except (ValidationError, ValueError):
            raise Http404(f"No card with id {object_id!r}.") from None
        # Compare against what the reviewer saw on the page, not what is stored now:
        # that is how the second of two reviewers learns someone else acted first.
        seen_status = request.POST.get("seen_status", "")
        if seen_status in CardStatus.values:
            card.status = seen_status
        return card

    def _after_decision(self, request, card: PendingEmail) -> HttpResponseRedirect:
        following = review.next_eligible(card, conditions=queue_conditions(request))
        if following is None:
            self.message_user(request, "No eligible card is left in the queue.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:outreach_pendingemail_changelist"))
        return HttpResponseRedirect(reverse("admin:outreach_pendingemail_change", args=[quote(following.pk)]))

    def _refused(self, request, card: PendingEmail, verb: str, refused: ReviewRefused) -> HttpResponseRedirect:
        self.message_user(request, f"Not {verb}: {refused.reason}", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:outreach_pendingemail_change", args=[quote(card.pk)]))

    @staticmethod
    def _describe(card: PendingEmail) -> str:
        return f"“{card.subject}” to {card.lead.email}"

    def approve_view(self, request, object_id):
        return require_POST(self._approve)(request, object_id)

    def _approve(self, request, object_id):
        card = self._decision_card(request, object_id)
        try:
            review.approve(card, user=request.user, seen_content_hash=request.POST.get("seen_hash", ""))
        except ReviewRefused as refused:
            return self._refused(request, card, "approved", refused)
        self.log_change(request, card, "Approved in review.")
        request.session[UNDO_SESSION_KEY] = card.pk
        self.message_user(request, f"Approved {self._describe(card)}.", messages.SUCCESS)
        return self._after_decision(request, card)

    def reject_view(self, request, object_id):
        return require_POST(self._reject)(request, object_id)

    def _reject(self, request, object_id):
        card = self._decision_card(request, object_id)
        try:
            review.reject(card, user=request.user, tag=request.POST.get("tag"), note=request.POST.get("note", ""))
        except ReviewRefused as refused:
            return self._refused(request, card, "rejected", refused)
        self.log_change(request, card, f"Rejected in review ({card.rejection_tag.slug}).")
        request.session[UNDO_SESSION_KEY] = card.pk
        self.message_user(request, f"Rejected {self._describe(card)} as “{card.rejection_tag.label}”.", messages.SUCCESS)
        return self._after_decision(request, card)

    def undo_view(self, request, object_id):
        return require_POST(self._undo)(request, object_id)

    def _undo(self, request, object_id):
        card = self._decision_card(request, object_id)
        try:
            review.undo(card, user=request.user)
        except ReviewRefused as refused:
            return self._refused(request, card, "undone", refused)
        request.session.pop(UNDO_SESSION_KEY, None)
        self.log_change(request, card, "Decision undone in review.")
        self.message_user(request, f"Undone: {self._describe(card)} is pending again.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:outreach_pendingemail_change", args=[quote(card.pk)]))

    # --- bulk actions -------------------------------------------------------

    def _report_refusals(self, request, verb: str, refusals: list[tuple[PendingEmail, str]]) -> None:
        if not refusals:
            return
        shown = refusals[:REFUSALS_SPELLED_OUT]
        items = format_html_join("", "<li>{}: {}</li>", ((self._describe(card), reason) for card, reason in shown))
        more = f" and {len(refusals) - len(shown)} more" if len(refusals) > len(shown) else ""
        self.message_user(
            request,
            format_html("{} card(s) not {}{}:<ul>{}</ul>", len(refusals), verb, more, items),
            messages.WARNING,
        )

    @admin.action(description="Approve selected cards (those that pass; the rest are listed with reasons)", permissions=["review"])
    def approve_selected(self, request, queryset):
        approved, refusals = 0, []
        for card in queryset.select_related("lead").order_by("created_at", "pk"):
            try:
                review.approve(card, user=request.user)
            except ReviewRefused as refused:
                refusals.append((card, refused.reason))
                continue
            approved += 1
            self.log_change(request, card, "Approved in review (bulk).")
        if approved:
            self.message_user(request, f"Approved {approved} card(s).", messages.SUCCESS)
        self._report_refusals(request, "approved", refusals)

    @admin.action(description="Reject selected cards (asks for a rejection tag)", permissions=["review"])
    def reject_selected(self, request, queryset):
        cards = list(queryset.select_related("lead", "campaign").order_by("created_at", "pk"))
        error = ""
        if request.POST.get("confirm"):
            try:
                tag = review.resolve_tag(request.POST.get("tag"))
            except ReviewRefused as refused:
                error = refused.reason
            else:
                rejected, refusals = 0, []
                for card in cards:
                    try:
                        review.reject(card, user=request.user, tag=tag, note=request.POST.get("note", ""))
                    except ReviewRefused as refused:
                        refusals.append((card, refused.reason))
                        continue
                    rejected += 1
                    self.log_change(request, card, f"Rejected in review ({tag.slug}, bulk).")
                if rejected:
                    self.message_user(request, f"Rejected {rejected} card(s) as “{tag.label}”.", messages.SUCCESS)
                self._report_refusals(request, "rejected", refusals)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject the selected cards",
            "opts": self.opts,
            "cards": cards,
            "reject_tags": review.reviewer_tags(),
            "chosen_tag": request.POST.get("tag", ""),
            "note": request.POST.get("note", ""),
            "error": error,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/outreach/pendingemail/bulk_reject.html", context)
