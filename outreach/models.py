"""Leads, campaigns, cadences and the drafted email card (PendingEmail).

A card's `status` is changed only by `outreach.transitions.transition`, which
compares and sets the state in one UPDATE and writes a CardTransition row in
the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from compliance.checks import find_header_breaker
from compliance.identity import ascii_domain, both_forms, canonical_domain, canonical_email, email_domain_of, mailbox_key
from compliance.lookalikes import lead_lookalike
from compliance.models import Suppression
from compliance.rules import lead_domain_forms
from outreach.sending.headers import from_header


class Tier(models.TextChoices):
    TIER_1 = "tier_1", "Tier 1"
    TIER_2 = "tier_2", "Tier 2"
    TIER_3 = "tier_3", "Tier 3"


class LeadQuerySet(models.QuerySet):
    def with_email(self, email: str):
        """The leads whose mailbox `email` reaches, in any spelling (compliance.identity.mailbox_key); none when it is not an address."""
        try:
            return self.filter(email_key=mailbox_key(canonical_email(email)))
        except ValidationError:
            return self.none()


def _domain_form(name: str) -> models.GeneratedField:
    expression, output_field = lead_domain_forms()[name]
    return models.GeneratedField(expression=expression, output_field=output_field, db_persist=True)


class Lead(models.Model):
    # `email` and `domain` are canonical (compliance.identity): every rule and
    # duplicate check compares them; the *_as_entered fields keep what was typed.
    email = models.EmailField(unique=True, help_text="Canonical form (compliance.identity.canonical_email); unique.")
    email_as_entered = models.CharField(max_length=320, blank=True, help_text="The address as typed or imported.")
    # The mailbox the address reaches (plus tag and provider dots dropped): opt-outs, do-not-contact
    # and duplicates compare it; sending uses `email`. Null only until the migration that added it ran.
    email_key = models.CharField(max_length=254, null=True, blank=True, editable=False, db_index=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    domain = models.CharField(
        max_length=253, blank=True, db_index=True, help_text="Company domain, canonical; the address's domain when none is given."
    )
    domain_as_entered = models.CharField(max_length=2048, blank=True, help_text="The company domain as typed or imported.")
    # The company domain's parents, the address's domain and its parents, and how
    # deep the deeper of the two domains is: what the exclusion rules look up
    # (compliance.rules, through LeadDomainForm). The database computes them on
    # every write, whatever the path, so they always spell the stored identity.
    domain_parent_1 = _domain_form("domain_parent_1")
    domain_parent_2 = _domain_form("domain_parent_2")
    domain_parent_3 = _domain_form("domain_parent_3")
    domain_parent_4 = _domain_form("domain_parent_4")
    address_domain = _domain_form("address_domain")
    address_domain_parent_1 = _domain_form("address_domain_parent_1")
    address_domain_parent_2 = _domain_form("address_domain_parent_2")
    address_domain_parent_3 = _domain_form("address_domain_parent_3")
    address_domain_parent_4 = _domain_form("address_domain_parent_4")
    domain_depth = _domain_form("domain_depth")
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.TIER_3, db_index=True)
    source = models.CharField(max_length=100, blank=True, db_index=True, help_text="Where the lead came from, e.g. wpromote.")
    ghl_contact_id = models.CharField("GHL contact id", max_length=64, blank=True)

    # A look-alike domain (compliance.lookalikes): why, and who confirmed the lead is who it seems, when.
    # Until confirmed, its cards are held back (outreach.eligibility, "lookalike_domain"). Nullable so
    # SQLite adds the columns in place (the lead table's triggers, migration 0019, stay).
    lookalike = models.CharField(max_length=500, null=True, blank=True, editable=False)
    lookalike_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    lookalike_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="+"
    )

    # Suppression: any of these makes the lead uncontactable, everywhere.
    do_not_contact = models.BooleanField(default=False)
    do_not_contact_reason = models.CharField(max_length=255, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["email"]
        indexes = [
            # Every GHL webhook about a contact (replies, DND, meetings) finds its lead by this id.
            models.Index(fields=["ghl_contact_id"], name="lead_ghl_contact"),
        ]

    def __str__(self) -> str:
        return self.email

    def canonicalise(self) -> None:
        """Store the canonical email and domain, keeping what was typed beside them.

        Raises ValidationError (keyed by field) when either is refused. The
        as-entered value is replaced only when it no longer spells the stored
        identity, so an edit of the address never leaves a stale original.
        """
        errors: dict[str, list[str]] = {}
        try:
            email = canonical_email(self.email)
        except ValidationError as exc:
            errors["email"] = exc.messages
        else:
            if self.email != email or not self.email_as_entered or _canonical_or_none(canonical_email, self.email_as_entered) != email:
                self.email_as_entered = self.email.strip()
            self.email = email
            self.email_key = mailbox_key(email)
            # Once per key: clean_fields, clean and save each canonicalise the same new lead.
            if self._state.adding and getattr(self, "_opt_outs_applied_for", None) != self.email_key:
                self.apply_recorded_opt_outs()
                self._opt_outs_applied_for = self.email_key
        if self.domain:
            try:
                domain = canonical_domain(self.domain)
            except ValidationError as exc:
                errors["domain"] = exc.messages
            else:
                if self.domain != domain or _canonical_or_none(canonical_domain, self.domain_as_entered) != domain:
                    self.domain_as_entered = self.domain.strip()
                self.domain = domain
        elif "email" not in errors:
            self.domain = canonical_domain(email_domain_of(self.email))
            self.domain_as_entered = ""
        if errors:
            raise ValidationError(errors)
        self.note_lookalike()

    def note_lookalike(self) -> None:
        """Record whether the lead's domains are look-alikes (compliance.lookalikes); a new warning needs a new confirmation."""
        domains = (self.domain, email_domain_of(self.email))
        if getattr(self, "_lookalike_read_for", None) == domains:
            return
        self._lookalike_read_for = domains
        warning = lead_lookalike(*domains, lead_pk=self.pk)
        if warning != self.lookalike:
            self.lookalike, self.lookalike_confirmed_at, self.lookalike_confirmed_by = warning, None, None

    def confirm_lookalike(self, *, by) -> bool:
        """A person confirms the lead despite its look-alike domain; return whether this confirmed it now."""
        if not self.lookalike or self.lookalike_confirmed_at:
            return False
        now = timezone.now()
        confirmed = Lead.objects.filter(pk=self.pk, lookalike=self.lookalike, lookalike_confirmed_at__isnull=True).update(
            lookalike_confirmed_at=now, lookalike_confirmed_by=by, updated_at=now
        )
        self.refresh_from_db(fields=["lookalike_confirmed_at", "lookalike_confirmed_by"])
        return confirmed == 1

    @property
    def email_shown(self) -> str:
        """The address as a person should read it: its domain in both forms when they differ."""
        local, _, domain = self.email.rpartition("@")
        return f"{local}@{both_forms(domain)}"

    @property
    def domain_shown(self) -> str:
        """The lead's domain as a person should read it: both forms when its punycode decodes to something else."""
        return both_forms(self.domain)

    def apply_recorded_opt_outs(self) -> None:
        """Carry onto this new lead every opt-out already recorded for its mailbox, before it is stored.

        An unsubscribe, bounce or complaint may arrive before the address is a lead
        (compliance.Suppression without a lead); the lead enters suppressed.
        """
        for kind, when, source in self._identities().opt_outs[self.email_key]:
            if kind == Suppression.Kind.UNSUBSCRIBED:
                self.unsubscribed_at = self.unsubscribed_at or when
            elif kind == Suppression.Kind.BOUNCED:
                self.bounced_at = self.bounced_at or when
            elif not self.do_not_contact:
                self.do_not_contact = True
                self.do_not_contact_reason = ("spam complaint" if kind == Suppression.Kind.COMPLAINED else f"opt-out ({source})")[:255]

    def clean_fields(self, exclude=None) -> None:
        # Canonical first, so the fields' own validators check what will be stored: an address typed
        # with a full-width ＠ is read, and a refused one (a quoted local part) is refused with our reason
        # rather than a generic "Enter a valid email address".
        exclude = set(exclude or ())
        errors: dict = {}
        try:
            self.canonicalise()
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        try:
            super().clean_fields(exclude=exclude | set(errors))
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def clean(self) -> None:
        self.canonicalise()
        # Two spellings of one mailbox are one lead (the key has no unique index: the migration that added it
        # keeps such pairs as identity collisions for a person to settle).
        stored = self._identities().other_lead(self.email_key, self.pk) if self.email_key else None
        if stored:
            raise ValidationError({"email": f"Duplicate: a lead with {stored} already exists; it is left unchanged."})

    def save(self, *args, **kwargs) -> None:
        self.canonicalise()
        super().save(*args, **kwargs)

    def _identities(self) -> KnownIdentities:
        """What is stored under this lead's mailbox key: read for a whole chunk by an import
        (`known_identities`, set by outreach.leads.resources), else for this key alone."""
        known = getattr(self, "known_identities", None)
        if known is not None and self.email_key in known.keys:
            return known
        return KnownIdentities([self.email_key])

    @property
    def email_differs_as_entered(self) -> bool:
        return bool(self.email_as_entered) and self.email_as_entered != self.email

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class KnownIdentities:
    """The stored leads and recorded opt-outs of some mailbox keys, each kind read by one query per batch.

    The one reading of both for a lead's checks: `Lead.apply_recorded_opt_outs` and
    `Lead.clean` ask it about a single key, a lead import about a whole chunk's keys
    at once (one query per kind instead of two per row). Each kind is read on first use.
    """

    # Keys per query: under SQLite's and PostgreSQL's limits on the parameters of one statement.
    BATCH = 500

    def __init__(self, keys) -> None:
        self.keys = frozenset(key for key in keys if key)

    def _batches(self):
        ordered = sorted(self.keys)
        for start in range(0, len(ordered), self.BATCH):
            yield ordered[start : start + self.BATCH]

    @cached_property
    def stored_leads(self) -> dict[str, list[tuple[int, str]]]:
        """Key -> its stored leads' (pk, email), by email: a duplicate names the first."""
        found: dict[str, list[tuple[int, str]]] = {key: [] for key in self.keys}
        for batch in self._batches():
            for key, pk, email in Lead.objects.filter(email_key__in=batch).order_by("email").values_list("email_key", "pk", "email"):
                found[key].append((pk, email))
        return found

    @cached_property
    def opt_outs(self) -> dict[str, list[tuple[str, object, str]]]:
        """Key -> its recorded opt-outs' (kind, created_at, source), newest first; pk orders a tie the same way in every reading."""
        found: dict[str, list[tuple[str, object, str]]] = {key: [] for key in self.keys}
        for batch in self._batches():
            rows = Suppression.objects.filter(email_key__in=batch).order_by("-created_at", "-pk")
            for key, kind, when, source in rows.values_list("email_key", "kind", "created_at", "source"):
                found[key].append((kind, when, source))
        return found

    def other_lead(self, key: str, pk: int | None) -> str | None:
        """The email of the first stored lead with `key` other than lead `pk`, or None: what makes a lead a duplicate."""
        return next((email for stored_pk, email in self.stored_leads[key] if stored_pk != pk), None)

    def changed_since(self, keys) -> bool:
        """Whether a fresh reading of `keys` (those of ours) finds other leads or opt-outs than this one read."""
        fresh = KnownIdentities(self.keys.intersection(keys))
        return any(
            fresh.stored_leads[key] != self.stored_leads[key] or fresh.opt_outs[key] != self.opt_outs[key] for key in fresh.keys
        )


class LeadDomainForm(models.Model):
    """One domain form of a lead: its company domain, its address's domain or a parent of either.

    Written only by database triggers on the lead table (migration
    0019_lead_domain_forms), from the lead's stored forms, on every insert,
    change of address or domain, and delete, whatever the path. The exclusion
    rules find the leads a rule hits here, with one index look-up per rule
    (compliance.rules), instead of cutting strings for every card of a queue.
    """

    lead = models.ForeignKey(Lead, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    domain = models.CharField(max_length=253)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "lead"], name="lead_domain_form_unique")]
        # Nobody edits it, so it has no permissions and no admin page.
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.domain} (lead {self.lead_id})"


def _canonical_or_none(function, value: str) -> str | None:
    try:
        return function(value) if value else None
    except ValidationError:
        return None


def validate_sender_name(value: str) -> None:
    """Refuse a sender name that could add mail headers: it is sent in the From header (GHL's emailFrom)."""
    breaker = find_header_breaker(value)
    if breaker:
        raise ValidationError(
            "The sender name contains %(char)s, a line break or control character: in the From header it could "
            "add mail headers of its own. Write the name on one line without it.",
            code="header_breaker",
            params={"char": repr(breaker)},
        )


def validate_sender_email_domain(value: str) -> None:
    """Refuse a From address whose domain cannot be written in a header (outreach.sending.headers.from_header)."""
    domain = value.rpartition("@")[2]
    if domain and not domain.isascii():
        ascii_domain(domain)


class Campaign(models.Model):
    ref = models.SlugField(max_length=100, unique=True, help_text="campaign_ref carried by every card.")
    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.TIER_1, help_text="The tier this campaign targets.")
    classifier = models.CharField(max_length=64, help_text="Expected classifier label, e.g. outbound_tier_1.")
    route = models.CharField(max_length=64, default="ghl_email", help_text="Route label of its cards.")
    sender_name = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_sender_name],
        help_text="The person the emails come from: the From line's name and the signature ({{ sender.name }}); blank: SENDER_NAME.",
    )
    sender_email = models.EmailField(
        blank=True,
        validators=[validate_sender_email_domain],
        help_text="The From address GHL sends from (its emailFrom); replies come back to it, as no Reply-To is sent. Blank: SENDER_EMAIL.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # What the model drafter may say, written by the Head of Sales (outreach.drafting.contract).
    facts = models.TextField(
        blank=True,
        help_text="One fact a line, each starting with its kind: 'offer:', 'proof:', 'tone:' or 'forbidden:'. "
        "A model-drafted email may state only what a lead field or an offer or proof line says; "
        "tone lines guide it; forbidden lines are claims it must never make.",
    )
    banned_phrases = models.TextField(
        blank=True, help_text="One phrase a line that no model-drafted email of this campaign may contain (besides the global list)."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        # Forms validate the field; this stops code that saves a campaign directly (commands, the shell) too.
        for field, validate in (("sender_name", validate_sender_name), ("sender_email", validate_sender_email_domain)):
            try:
                validate(getattr(self, field))
            except ValidationError as exc:
                raise ValidationError({field: exc.messages}) from exc
        super().save(*args, **kwargs)

    @property
    def from_name(self) -> str:
        return self.sender_name or settings.SENDER_NAME

    @property
    def from_email(self) -> str:
        return self.sender_email or settings.SENDER_EMAIL


class CadenceStep(models.Model):
    """One email of a campaign's sequence; step 1 goes first, each later one
    `delay_days` after the previous step was actually sent."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField()
    delay_days = models.PositiveSmallIntegerField(default=0)
    subject_template = models.CharField(max_length=255)
    body_template = models.TextField()
    template_version = models.PositiveIntegerField(default=1, help_text="Bumped when the templates change.")
    drafter = models.CharField(
        max_length=16,
        choices=[("template", "Template"), ("model", "Model")],
        default="template",
        help_text="Who drafts this step: the templates above, or the model from the campaign's facts and the prompt below.",
    )
    prompt = models.TextField(blank=True, help_text="The model drafter's instructions for this step; each saved change is a new prompt version.")
    prompt_version = models.PositiveIntegerField(default=1, help_text="The prompt version in use (see its history).")

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="unique_step_number_per_campaign")]

    def __str__(self) -> str:
        return f"{self.campaign.ref} step {self.number}"


class PromptVersion(models.Model):
    """One version of a step's model prompt: the instructions and the accepted style rules.

    The step's `prompt` and `prompt_version` name the version in use. A saved
    change makes a new version in use at once; a candidate (from accepted
    style rules) waits for the shadow lane to promote it, with the evidence
    kept here. Rolling back puts the previous version back in use.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "In use"
        CANDIDATE = "candidate", "Candidate"
        RETIRED = "retired", "Retired"

    step = models.ForeignKey(CadenceStep, on_delete=models.CASCADE, related_name="prompt_versions")
    number = models.PositiveIntegerField()
    instructions = models.TextField(blank=True)
    style_rules = models.TextField(blank=True, help_text="Accepted style rules, one a line; the model is told to follow them.")
    model_name = models.CharField(max_length=100, blank=True, help_text="The model this version runs on (blank: MODEL_NAME).")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    note = models.CharField(max_length=255, blank=True, help_text="Why this version exists.")
    # The shadow lane's verdict, stored when a promotion is asked for (refused or granted).
    evidence = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["step", "number"]
        constraints = [models.UniqueConstraint(fields=["step", "number"], name="unique_prompt_version_per_step")]
        # No permissions of its own: whoever reviews cards runs the shadow lane (outreach.admin.prompts).
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.step} prompt v{self.number}"


class Enrollment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrollments")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    current_step = models.PositiveSmallIntegerField(default=0, help_text="The last step drafted (0: none yet).")
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stop_reason = models.CharField(max_length=64, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            # A lead is never in two active enrollments of the same campaign.
            models.UniqueConstraint(
                fields=["lead", "campaign"], condition=Q(status="active"), name="one_active_enrollment_per_campaign"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lead} in {self.campaign.ref}"


class RejectionTag(models.Model):
    HYGIENE = "queue_hygiene_non_actionable"

    slug = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    system = models.BooleanField(default=False, help_text="Used by the system (e.g. hygiene cleanup); not for people.")

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return self.label


class CardStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (reconcile)"


# The named sets of card statuses, each with one meaning. Every module uses
# these; none spells its own (tests/test_vocabulary.py scans for that).
# Set after the class: an attribute assigned in an Enum's body would become a member.

# Waiting for the Head of Sales' decision or a live cycle's claim: the queue.
# Eligibility judges these; a person may edit or reject them.
CardStatus.OPEN = frozenset({CardStatus.PENDING, CardStatus.APPROVED})
# Not handed to GHL yet, so still stoppable: what a reappearing lead, a rule
# change or an identity collision endangers.
CardStatus.STOPPABLE = frozenset({CardStatus.PENDING, CardStatus.APPROVED, CardStatus.QUEUED})
# Claimed by a live cycle and not settled yet: on its way to GHL, or in doubt.
CardStatus.IN_FLIGHT = frozenset({CardStatus.QUEUED, CardStatus.SENDING, CardStatus.UNKNOWN})
# The request may have reached GHL and nothing says it failed: the reconcile
# command reads GHL before anything else happens to these.
CardStatus.DOUBTFUL = frozenset({CardStatus.SENDING, CardStatus.UNKNOWN})
# The lead was, or may already have been, emailed with this card (`unknown`
# counts: the request may have reached GHL).
CardStatus.CONTACTED = frozenset({CardStatus.QUEUED, CardStatus.SENDING, CardStatus.SENT, CardStatus.UNKNOWN})
# Claimed by a live cycle and not released: counts against that day's caps.
CardStatus.CLAIMED = CardStatus.CONTACTED | {CardStatus.FAILED}
# A claimed send that failed or ended in doubt: one of the day's send errors.
CardStatus.SEND_ERROR = frozenset({CardStatus.FAILED, CardStatus.UNKNOWN})
# Decided by a person, so the decision can be undone within the undo window.
CardStatus.DECIDED = frozenset({CardStatus.APPROVED, CardStatus.REJECTED})
# Ended without being sent: the step may be drafted again for the lead. (A
# tuple: the unique constraint below names it, in the order its migration did.)
CardStatus.ENDED_UNSENT = (CardStatus.REJECTED, CardStatus.FAILED)
# The way a card walks to GHL, in order (then sent, failed or unknown).
CardStatus.ROUTE_TO_GHL = (CardStatus.APPROVED, CardStatus.QUEUED, CardStatus.SENDING)
# On its way to GHL or sent on an approval: it names its reviewer and the hash
# of what was approved (a database constraint, CARD_INVARIANTS).
CardStatus.APPROVAL_HELD = frozenset(CardStatus.ROUTE_TO_GHL) | {CardStatus.SENT}


# What one approval covers: the whole send. Any change to one of these after
# approval returns the card to review (outreach.approval), and the job refuses
# to send when their hash differs from the approved one.
APPROVAL_PARTS = ("recipient", "GHL contact", "sender", "subject", "body", "footer", "campaign step")


def approval_hash(parts: dict[str, str]) -> str:
    """Return the hash of an approval's parts: each name and value, in APPROVAL_PARTS order."""
    if set(parts) != set(APPROVAL_PARTS):
        raise ValueError(f"An approval covers exactly {', '.join(APPROVAL_PARTS)}; got {', '.join(parts)}.")
    digest = hashlib.sha256()
    for name in APPROVAL_PARTS:
        for text in (name, parts[name]):
            digest.update(str(text).encode("utf-8"))
            digest.update(b"\x00")
    return digest.hexdigest()


# The card states the product can never reach, refused by the database
# (CheckConstraints) and, with these messages, by outreach.transitions.transition.
CARD_INVARIANTS = (
    (
        "rejected_card_has_tag",
        ~Q(status=CardStatus.REJECTED) | Q(rejection_tag__isnull=False),
        "A rejected card carries the rejection tag saying why.",
    ),
    (
        "sent_card_has_time_and_message",
        ~Q(status=CardStatus.SENT) | (Q(sent_at__isnull=False) & ~Q(ghl_message_id="")),
        "A sent card carries when it was sent and GHL's message id.",
    ),
    (
        "approved_card_has_reviewer_and_hash",
        ~Q(status__in=sorted(CardStatus.APPROVAL_HELD))
        | (Q(reviewed_by__isnull=False) & ~Q(approved_content_hash="")),
        "An approved, queued, sending or sent card names its reviewer and the hash of what was approved.",
    ),
)


class PendingEmail(models.Model):
    """A drafted email card.

    States and the only allowed moves (see outreach.transitions.ALLOWED):
      pending -> approved | rejected
      approved -> queued | rejected | pending (content edited after approval; decision undone)
      queued -> sending | approved (released: hold, cap) | pending (content changed) | failed (blocked)
      sending -> sent | failed | unknown | queued (retry that is known safe)
      unknown -> sent | queued | failed (settled by reconcile)
      rejected -> pending (the reviewer undid it within the undo window)
      sent, failed: final
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="cards")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="cards")
    step = models.ForeignKey(CadenceStep, on_delete=models.PROTECT, related_name="cards")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.SET_NULL, null=True, blank=True, related_name="cards")

    subject = models.CharField(max_length=255)
    body = models.TextField()
    footer = models.TextField(blank=True, help_text="Canonical footer added by compliance.footer; sent as shown.")

    classifier = models.CharField(max_length=64, db_index=True, help_text="e.g. outbound_tier_1")
    campaign_ref = models.CharField(max_length=100, db_index=True)
    route = models.CharField(max_length=64, default="ghl_email", db_index=True)
    template_version = models.CharField(max_length=64, blank=True)
    drafter = models.CharField(max_length=64, default="template")
    # What the model drafter used and spent (empty for template cards): outreach.drafting.model.
    prompt_version = models.CharField(max_length=64, blank=True, help_text="e.g. spring-2026:s1:p3")
    model_name = models.CharField(max_length=100, blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0, help_text="USD")
    latency_ms = models.PositiveIntegerField(default=0)
    draft_attempts = models.PositiveSmallIntegerField(default=0)
    # [{"text": quoted span of the body or subject, "fact": fact id}]: each claim and the fact it rests on.
    claims = models.JSONField(default=list, blank=True)
    is_shadow = models.BooleanField(default=False, help_text="Shadow cards can be reviewed but never dispatched.")
    is_canary = models.BooleanField(default=False)

    status = models.CharField(max_length=16, choices=CardStatus.choices, default=CardStatus.PENDING, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    compliance = models.JSONField(default=dict, blank=True, help_text="Snapshot of the last compliance run.")
    compliance_passed = models.BooleanField(default=False)

    first_viewed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a reviewer first opened the card: the first-review SLA stops here."
    )
    last_edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField(null=True, blank=True)
    # PROTECT: an approved or sent card always names its reviewer (a constraint below), so a
    # reviewer is deactivated, never deleted.
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    approved_content_hash = models.CharField(max_length=64, blank=True)
    # What the approval covered, part by part (APPROVAL_PARTS): the card page shows it and a
    # change is named by comparing against it. `approved_content_hash` is its hash.
    approved_parts = models.JSONField(default=dict, blank=True, editable=False)
    rejection_tag = models.ForeignKey(RejectionTag, null=True, blank=True, on_delete=models.PROTECT, related_name="cards")
    rejection_note = models.TextField(blank=True)

    idempotency_key = models.CharField(
        max_length=64, unique=True, editable=False, help_text="Marker embedded in the sent email; reconcile looks for it."
    )
    dispatch_attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    ghl_contact_id = models.CharField("GHL contact id", max_length=64, blank=True)
    ghl_conversation_id = models.CharField("GHL conversation id", max_length=64, blank=True)
    ghl_message_id = models.CharField("GHL message id", max_length=64, blank=True)
    ghl_email_message_id = models.CharField("GHL email message id", max_length=64, blank=True)
    last_error = models.TextField(blank=True)


    class Meta:
        ordering = ["created_at"]
        verbose_name = "email card"
        verbose_name_plural = "email cards"
        permissions = [
            ("review_pendingemail", "Can approve or reject email cards"),
            ("run_live_cycle", "Can start a supervised live send cycle"),
        ]
        indexes = [
            # The review queue and the dispatch claim both filter on status then age.
            models.Index(fields=["status", "created_at"], name="card_status_created"),
            # The review desk's queue (outreach.review): pending cards by age, with the
            # flags and lead in the index for the eligibility filters.
            models.Index(fields=["status", "created_at", "is_canary", "is_shadow", "lead"], name="card_review_queue"),
            # Every GHL email event (delivered, opened, bounced...) finds its card by this id.
            models.Index(fields=["ghl_email_message_id"], name="card_ghl_email_message"),
            # The "already sent at this step" rule probes every queued card's siblings in its
            # campaign; with status and step in the index the probe never reads the card rows.
            models.Index(fields=["lead", "campaign", "status", "step"], name="card_lead_campaign_status"),
        ]
        constraints = [
            # One live card per (lead, campaign, step): a rejected or failed card
            # may be redrafted, but two sendable drafts of one step never coexist.
            models.UniqueConstraint(
                fields=["lead", "campaign", "step"],
                condition=~Q(status__in=list(CardStatus.ENDED_UNSENT)),
                name="one_live_card_per_lead_step",
            ),
            *(
                models.CheckConstraint(condition=condition, name=name, violation_error_message=message)
                for name, condition, message in CARD_INVARIANTS
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.lead_id and self.lead.email}"

    def save(self, *args, **kwargs) -> None:
        if not self.idempotency_key:
            self.idempotency_key = f"caio-{self.code.hex}"
        super().save(*args, **kwargs)

    def approval_parts(self) -> dict[str, str]:
        """Return what an approval of this card covers, part by part, as the send would use it (APPROVAL_PARTS)."""
        lead, campaign, step = self.lead, self.campaign, self.step
        return {
            "recipient": f"{lead.full_name} <{lead.email}>" if lead.full_name else lead.email,
            "GHL contact": lead.ghl_contact_id,
            "sender": from_header(campaign.from_name, campaign.from_email),
            "subject": self.subject,
            "body": self.body,
            "footer": self.footer,
            "campaign step": f"{campaign.ref} step {step.number}",
        }

    def content_hash(self, parts: dict[str, str] | None = None) -> str:
        """Return the hash an approval stores: over every part of APPROVAL_PARTS, named, in order."""
        return approval_hash(parts if parts is not None else self.approval_parts())

    @property
    def full_text(self) -> str:
        """Return the email body as the contact sees it: body then canonical footer."""
        return f"{self.body.rstrip()}\n\n{self.footer}" if self.footer else self.body

    @property
    def tier(self) -> str:
        return self.lead.tier


class CardTransition(models.Model):
    """Audit trail: one row per state change of a card, written with the change."""

    card = models.ForeignKey(PendingEmail, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=CardStatus.choices)
    to_status = models.CharField(max_length=16, choices=CardStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=100, blank=True, help_text="Who acted when not a person: worker, cleanup, ...")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        # An empty from_status records the card's creation by drafting (outreach.transitions.record_drafted).
        return f"{self.from_status or 'drafted'} → {self.to_status}"

    @property
    def who(self) -> str:
        return str(self.actor) if self.actor_id else (self.actor_label or "system")


class CardEdit(models.Model):
    """Who wrote a part of a card's text, and when: the four-eyes rule reads the whole history (outreach.review)."""

    class Part(models.TextChoices):
        SUBJECT = "subject", "the subject"
        BODY = "body", "the body"
        # Edits made before the part was recorded: the subject, the body or both.
        TEXT = "text", "the text"

    card = models.ForeignKey(PendingEmail, on_delete=models.CASCADE, related_name="edits")
    part = models.CharField(max_length=16, choices=Part.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # What the person changed, as a unified diff: the lessons the model drafter learns from (outreach.drafting.learning).
    diff = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.author} wrote {self.get_part_display()} of card {self.card_id}"


class DispatchAttempt(models.Model):
    """One try at sending a card through GHL: written before the call, finished after."""

    class Outcome(models.TextChoices):
        STARTED = "started", "Started"
        SENT = "sent", "Sent"
        RETRY = "retry", "Will retry"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown"
        SKIPPED = "skipped", "Skipped by re-check"

    card = models.ForeignKey(PendingEmail, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.STARTED)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"attempt {self.pk} on card {self.card_id}: {self.outcome}"


class WebhookDelivery(models.Model):
    """A GHL webhook delivery, stored before we answer 200 (GHL never redelivers after a 2xx).

    The unique dedupe key makes each event apply once however often GHL sends
    it: GHL's webhookId, the email event's own id, or, for a delivery GHL sent
    without a webhookId (as its documented examples are), a hash of its content.
    A delivery whose apply fails is retried up to MAX_ATTEMPTS times in all,
    then quarantined with its error for a person to look at.
    """

    MAX_ATTEMPTS = 5

    dedupe_key = models.CharField(max_length=128, unique=True)
    event_type = models.CharField(max_length=64, db_index=True)
    webhook_id = models.CharField(max_length=128, blank=True)
    # False when GHL sent it without the top-level timestamp and webhookId (no replay window to check).
    stamped = models.BooleanField(default=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    quarantined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # process_webhooks picks up deliveries whose processing failed.
            models.Index(fields=["processed_at"], name="webhook_unprocessed"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.dedupe_key}"


class WebhookRefusal(models.Model):
    """A delivery we refused (bad signature, stale, not our location...): kept for operators, never applied.

    Only what helps judge it: the reason, the headers minus anything secret,
    the size and a hash of the body. The body itself is not kept: it was not
    proven to come from GHL.
    """

    class Reason(models.TextChoices):
        SIGNATURE = "signature", "Signature, freshness or form"
        LOCATION = "location", "Not our location or app"
        SHAPE = "shape", "Too large or nested too deep"

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.CharField(max_length=500)
    event_type = models.CharField(max_length=64, blank=True)
    location_id = models.CharField(max_length=64, blank=True)
    headers = models.JSONField(default=dict)
    size = models.PositiveIntegerField()
    body_sha256 = models.CharField(max_length=64)
    # Refusals of the same minute past WEBHOOK_REFUSALS_PER_MINUTE are counted here, on that
    # minute's last row, instead of each writing a row: a flood costs one counter, not megabytes.
    dropped = models.PositiveIntegerField(default=0, help_text="Later refusals of the same minute counted, not recorded.")

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.detail}"


class EmailEvent(models.Model):
    """What happened to an email after it was sent, as GHL reported it; the KPIs count these."""

    class Kind(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        BOUNCED = "bounced", "Bounced (hard)"
        SOFT_BOUNCED = "soft_bounced", "Bounced (soft)"
        COMPLAINED = "complained", "Spam complaint"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        REPLIED = "replied", "Replied"
        MEETING = "meeting", "Meeting booked"
        # An out-of-office answer: not a reply (the sequence goes on), not counted as one.
        AUTO_REPLIED = "auto_replied", "Auto-reply (out of office)"
        # GHL reported something we cannot classify: kept and counted, never guessed.
        UNCLASSIFIED = "unclassified", "Unclassified"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="email_events")
    card = models.ForeignKey(PendingEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="email_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # What GHL said, as it said it (event name, status code), for the unclassified and the bounces.
    detail = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivery = models.ForeignKey(WebhookDelivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="email_events")

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # The daily report counts events of each kind in a day.
            models.Index(fields=["kind", "occurred_at"], name="email_event_kind_day"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.lead_id}"


class Reply(models.Model):
    """A message a lead sent us (GHL's InboundMessage), with its text, for people to read and classify."""

    class Classification(models.TextChoices):
        UNCLASSIFIED = "unclassified", "Unclassified"
        OPT_OUT = "opt_out", "Opt-out"
        INTERESTED = "interested", "Interested"
        NOT_NOW = "not_now", "Not now"
        OUT_OF_OFFICE = "out_of_office", "Out of office"
        OTHER = "other", "Other"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="replies")
    # The card it answers: matched by GHL thread or conversation, else the lead's latest sent card.
    card = models.ForeignKey(PendingEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    channel = models.CharField(max_length=32, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    text = models.TextField(blank=True)
    # GHL's id of the message (or of its email record); unique so a redelivery adds nothing.
    ghl_message_id = models.CharField("GHL message id", max_length=128, unique=True)
    classification = models.CharField(max_length=16, choices=Classification.choices, default=Classification.UNCLASSIFIED)
    # Which rule gave the classification, or who set it (outreach.inbound.replies).
    classification_reason = models.CharField(max_length=255, blank=True)
    classified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The person who set the classification; empty when the rules did.",
    )
    classified_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    delivery = models.ForeignKey(WebhookDelivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    # The email event this reply counts as (replied, unsubscribed, auto_replied); it follows the classification.
    event = models.OneToOneField("EmailEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="reply")

    class Meta:
        # The inbox: unhandled first, newest first.
        ordering = [models.F("handled_at").asc(nulls_first=True), "-received_at"]
        verbose_name_plural = "replies"
        indexes = [
            # The inbox's order and its "interested, not handled" count on the admin index.
            models.Index(fields=["handled_at", "classification", "received_at"], name="reply_inbox"),
        ]

    def __str__(self) -> str:
        return f"reply from {self.lead_id} at {self.received_at:%Y-%m-%d %H:%M}"


class DispatchConsole(PendingEmail):
    """No table of its own: the admin's dispatch console (dry run, gates, live cycle).

    A proxy so that the console has a place in the admin index; access is the
    `run_live_cycle` permission, checked by the console itself.
    """

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = "dispatch console"
        verbose_name_plural = "dispatch console"


class LeadImportState(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class BackgroundRun(models.Model):
    """What every piece of work a job does in the background shows while it runs: its state and times.

    A lead import and a drafting run alike; the admin's progress pages read these.
    """

    state = models.CharField(max_length=16, choices=LeadImportState.choices, default=LeadImportState.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def finished(self) -> bool:
        return self.state in (LeadImportState.DONE, LeadImportState.FAILED)


class LeadImport(BackgroundRun):
    """A confirmed lead file imported by a background job (outreach.leads.imports), with its progress and result.

    The file's text is kept here, not in a temporary file of the web process,
    so a worker on another machine can read it and a re-run after a crash
    reads the same rows. Progress (`rows_done` and the summary) is written in
    the same transaction as each chunk of leads, so a re-run resumes after the
    last chunk that committed and never writes a row twice.
    """

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=255)
    digest = models.CharField(max_length=64, help_text="SHA-256 of the file's text.")
    # The temporary upload the confirmation named: a second confirmation of the same upload finds this row.
    upload_key = models.CharField(max_length=255, unique=True)
    content = models.TextField(help_text="The file's text, as decoded when it was confirmed.")
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="compliance.spreadsheet.ImportSummary of the rows done.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        # No permissions of its own: whoever may import leads (outreach.add_lead) follows the imports.
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.file_name} ({self.state}, {self.rows_done} of {self.rows_total} rows)"


class ModelCall(models.Model):
    """One lead drafted by the model: a card or a drafting error, with what it cost.

    Written for every model drafting, failed ones too (they spent tokens), so
    the daily budget and the per-day figures count everything that was spent.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    step = models.ForeignKey(CadenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    prompt_version = models.CharField(max_length=64, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    ok = models.BooleanField(default=False)
    reasons = models.TextField(blank=True, help_text="Why the draft was refused, each attempt's reasons.")
    attempts = models.PositiveSmallIntegerField(default=0)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        # Written by drafting only; read through the budget, the runs and the card page.
        default_permissions = ()

    def __str__(self) -> str:
        return f"model drafting of lead {self.lead_id}: {'ok' if self.ok else 'error'}"


class DraftingRun(BackgroundRun):
    """A drafting run done by an RQ job (outreach.drafting.runs), with its progress, like a lead import."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="drafting_runs")
    source = models.CharField(max_length=100)
    mode = models.CharField(max_length=16, default="production")
    limit = models.PositiveIntegerField()
    concurrency = models.PositiveSmallIntegerField(default=1)
    leads_total = models.PositiveIntegerField(default=0)
    leads_done = models.PositiveIntegerField(default=0)
    drafted = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"drafting {self.campaign_id} ({self.state}, {self.leads_done} of {self.leads_total})"


class ShadowPair(models.Model):
    """Two drafts for one lead, shown blind on the desk: the version in use and a candidate. Never sent."""

    class Choice(models.TextChoices):
        UNDECIDED = "", "Undecided"
        BASELINE = "baseline", "Version in use"
        CANDIDATE = "candidate", "Candidate"
        NEITHER = "neither", "Neither"

    candidate = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="pairs")
    baseline = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    case = models.CharField(max_length=100, help_text="The frozen case it comes from (outreach.reports.shadow).")
    baseline_draft = models.JSONField(default=dict)
    candidate_draft = models.JSONField(default=dict)
    # Which draft is shown on the left, drawn when the pair is made so the reviewer cannot tell.
    candidate_left = models.BooleanField(default=False)
    choice = models.CharField(max_length=16, choices=Choice.choices, default="", blank=True)
    rejection_tag = models.ForeignKey(RejectionTag, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        default_permissions = ()
