"""Drafters turn a lead and a cadence step into a subject and a body.

The pipeline and the cadence engine talk to a `Drafter` only (a `name` and
`draft(lead, step) -> Draft`), so another drafter (a model, a human-in-the-
loop queue) can replace the template drafter without touching them. The
drafter's name and the step's template version are recorded on every card.

The template drafter renders CadenceStep templates in a locked-down Django
template engine:
- only `lead.*` and `sender.name` are in the context, as plain values;
- a missing or empty field raises DraftingError (never an empty string or a
  leftover placeholder): `{{ lead.company }}` for a lead without a company is
  an error, `{% if lead.company %}` and `{% firstof lead.first_name "there" %}`
  are the ways to make a field optional;
- only a few harmless tags are allowed (no include/extends/load/debug), and
  nothing is HTML-escaped: the email is plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from django.db import transaction
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Lexer, Template, TokenType

from compliance.footer import footer_for_lead
from outreach.drafting.prompts import current_version_before_edit, new_prompt_version
from outreach.models import CadenceStep, Campaign, Lead, PendingEmail, Tier

# The lead fields a template may use.
LEAD_FIELDS = ("first_name", "last_name", "full_name", "company", "title", "email", "domain", "tier")
ALLOWED_TAGS = frozenset({"if", "elif", "else", "endif", "firstof", "with", "endwith", "comment", "endcomment"})


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str
    # A model draft's claims ({"text", "fact"}) and what drafting it took (DraftingMeta.as_card_fields).
    claims: tuple = ()
    meta: dict = field(default_factory=dict)


class DraftingError(Exception):
    """The step cannot be drafted for this lead; the message says what to fix.

    `meta` carries what a model drafting spent before it failed (it is counted too).
    """

    def __init__(self, message: str, *, meta: dict | None = None) -> None:
        super().__init__(message)
        self.meta = meta or {}


class Drafter(Protocol):
    name: str

    def draft(self, lead: Lead, step: CadenceStep) -> Draft: ...


def card_from_draft(draft: Draft, *, lead: Lead, campaign: Campaign, step: CadenceStep, drafter_name: str, **fields) -> PendingEmail:
    """Return the unsaved card for a draft: canonical footer, the campaign's labels, the template version.

    The one place a draft becomes a card, for the pipeline, the cadence and the demo data.
    """
    card = PendingEmail(
        lead=lead,
        campaign=campaign,
        step=step,
        subject=draft.subject,
        body=draft.body,
        footer=footer_for_lead(lead.pk),
        classifier=campaign.classifier,
        campaign_ref=campaign.ref,
        route=campaign.route,
        template_version=template_version_label(campaign, step),
        drafter=drafter_name,
        claims=list(draft.claims),
        **draft.meta.get("card", {}),
        **fields,
    )
    # bulk inserts skip save(): set the marker the same way PendingEmail.save does.
    card.idempotency_key = f"caio-{card.code.hex}"
    return card


def template_version_label(campaign: Campaign, step: CadenceStep) -> str:
    """Return the template version recorded on a card, e.g. spring-2026:s1:v3."""
    return f"{campaign.ref}:s{step.number}:v{step.template_version}"


class _MissingField(Exception):
    def __init__(self, variable: str) -> None:
        self.variable = variable
        super().__init__(variable)


class _RaiseOnInvalid(str):
    """string_if_invalid that raises: Django formats it with the variable ("%s" in it)."""

    def __mod__(self, variable: object) -> str:
        raise _MissingField(str(variable))


class _Fields:
    """Read-only mapping for templates: only item lookup, so no methods leak into templates."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> str:
        return self._values[key]


_ENGINE = Engine(
    loaders=[],
    libraries={},
    autoescape=False,
    string_if_invalid=_RaiseOnInvalid("%s"),
)


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Return the compiled template, refusing tags outside ALLOWED_TAGS (TemplateSyntaxError)."""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            tag = token.contents.split()[0] if token.contents.split() else ""
            if tag not in ALLOWED_TAGS:
                raise TemplateSyntaxError(f"the tag {{% {tag} %}} is not allowed in email templates")
    return _ENGINE.from_string(source)


def lead_fields(lead: Lead) -> dict[str, str]:
    """Return the lead's template fields, leaving out empty ones so that using one is an error."""
    values = {name: str(getattr(lead, name) or "").strip() for name in LEAD_FIELDS}
    return {name: value for name, value in values.items() if value}


def render(source: str, lead: Lead, *, part: str, step: CadenceStep) -> str:
    """Render one template for `lead`; raise DraftingError naming the step, the part and the field."""
    where = f"step {step.number} {part}"
    try:
        template = compile_template(source)
        context = Context(
            {"lead": _Fields(lead_fields(lead)), "sender": _Fields({"name": step.campaign.from_name})}, autoescape=False
        )
        return template.render(context)
    except _MissingField as missing:
        raise DraftingError(f"{where}: {{{{ {missing.variable} }}}} is missing or empty for {lead.email}.") from None
    except TemplateSyntaxError as exc:
        raise DraftingError(f"{where}: template error: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any other template failure is a drafting error, reported per lead
        raise DraftingError(f"{where}: could not render ({exc.__class__.__name__}: {exc})") from None


class TemplateDrafter:
    """Draft from the step's subject and body templates."""

    name = "template"

    def draft(self, lead: Lead, step: CadenceStep) -> Draft:
        subject = render(step.subject_template, lead, part="subject", step=step).strip()
        body = render(step.body_template, lead, part="body", step=step).replace("\r\n", "\n").strip()
        if not subject:
            raise DraftingError(f"step {step.number} subject: rendered empty for {lead.email}.")
        if not body:
            raise DraftingError(f"step {step.number} body: rendered empty for {lead.email}.")
        return Draft(subject=subject, body=body)


DEFAULT_DRAFTER: Drafter = TemplateDrafter()


def sample_lead(tier: str = Tier.TIER_1) -> Lead:
    """Return an unsaved lead with every field filled, for previews."""
    return Lead(
        email="celia.kettering@example.com",
        first_name="Celia",
        last_name="Kettering",
        company="Wpromote",
        title="VP Marketing",
        domain="example.com",
        tier=tier,
    )


def preview(step: CadenceStep, lead: Lead | None = None, drafter: Drafter = DEFAULT_DRAFTER) -> Draft | DraftingError:
    """Return the step drafted for `lead` (default: a sample lead), or the DraftingError."""
    try:
        return drafter.draft(lead or sample_lead(step.campaign.tier), step)
    except DraftingError as exc:
        return exc


def normalised_template(text: str) -> str:
    """Return a template's text as versions compare it: line breaks as \\n, no trailing spaces, no blank edges.

    A browser posts a textarea's line breaks as \\r\\n: the same text saved
    from a form is not a new version.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def save_step(step: CadenceStep, *, user=None) -> bool:
    """Save `step`; a change to its own normalised subject or body template makes it a new version, and so
    does a changed model prompt (a new PromptVersion, in use at once). Return whether the templates changed.

    Compared with the stored row, not with what a form says changed, so every
    caller (the campaign admin, a command, a data fix) versions the same way
    and cards keep naming the template they were drafted from. A save whose
    text differs only in line breaks or trailing spaces keeps the stored text.
    """
    stored = (
        CadenceStep.objects.filter(pk=step.pk).values_list("subject_template", "body_template", "prompt").first() if step.pk else None
    )
    given = (step.subject_template, step.body_template)
    changed = stored is not None and tuple(map(normalised_template, stored[:2])) != tuple(map(normalised_template, given))
    if stored is not None and not changed:
        step.subject_template, step.body_template = stored[:2]
    else:
        step.subject_template, step.body_template = (normalised_template(text) for text in given)
    if changed:
        step.template_version += 1
    prompt_changed = stored is not None and stored[2] != step.prompt
    with transaction.atomic():
        if prompt_changed:
            # Keep the version in use as it stands before the edited prompt is saved over it.
            current_version_before_edit(step)
        step.save()
        if prompt_changed:
            new_prompt_version(step, instructions=step.prompt, user=user, note="prompt edited")
    return changed
