"""Prompt versions of a model step: each saved change a new version, and one step back (rollback).

The step's `prompt` and `prompt_version` always name the version in use, and
PromptVersion keeps every version's instructions and style rules, so a card's
prompt version (spring:s1:p3) can always be read back and restored.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from outreach.models import CadenceStep, PromptVersion


class PromptError(Exception):
    """The prompt change cannot be made; the message says why."""


def current_version(step: CadenceStep) -> PromptVersion:
    """Return the version in use, writing its row first when the step never had one (version 1 from the step's prompt)."""
    version, _ = PromptVersion.objects.get_or_create(
        step=step, number=step.prompt_version, defaults={"instructions": step.prompt, "note": "first version"}
    )
    return version


def _next_number(step: CadenceStep) -> int:
    return (PromptVersion.objects.filter(step=step).aggregate(n=Max("number"))["n"] or step.prompt_version) + 1


def new_prompt_version(step: CadenceStep, *, instructions: str, style_rules: str | None = None, user=None, note: str = "") -> PromptVersion:
    """Put a new version in use now (a person edited the prompt): the previous one is retired, kept for rollback."""
    with transaction.atomic():
        previous = current_version_before_edit(step)
        version = PromptVersion.objects.create(
            step=step,
            number=_next_number(step),
            instructions=instructions,
            style_rules=previous.style_rules if style_rules is None else style_rules,
            created_by=user,
            note=note,
            promoted_at=timezone.now(),
        )
        _put_in_use(step, version, previous)
    return version


def current_version_before_edit(step: CadenceStep) -> PromptVersion:
    """The version in use as stored (the step object may already carry the edited prompt)."""
    stored = CadenceStep.objects.values_list("prompt", "prompt_version").get(pk=step.pk)
    version, _ = PromptVersion.objects.get_or_create(
        step=step, number=stored[1], defaults={"instructions": stored[0], "note": "first version"}
    )
    return version


def new_candidate(step: CadenceStep, *, style_rules: str, instructions: str | None = None, model_name: str = "", user=None, note: str = "") -> PromptVersion:
    """Make a candidate version from the one in use: it drafts nothing live until the shadow lane promotes it."""
    with transaction.atomic():
        base = current_version(step)
        return PromptVersion.objects.create(
            step=step,
            number=_next_number(step),
            instructions=base.instructions if instructions is None else instructions,
            style_rules=style_rules,
            model_name=model_name,
            state=PromptVersion.State.CANDIDATE,
            created_by=user,
            note=note,
        )


def _put_in_use(step: CadenceStep, version: PromptVersion, previous: PromptVersion | None) -> None:
    if previous is not None and previous.pk != version.pk:
        PromptVersion.objects.filter(pk=previous.pk).update(state=PromptVersion.State.RETIRED)
    version.state = PromptVersion.State.ACTIVE
    version.save(update_fields=["state", "promoted_at", "evidence"])
    step.prompt, step.prompt_version = version.instructions, version.number
    CadenceStep.objects.filter(pk=step.pk).update(prompt=step.prompt, prompt_version=step.prompt_version)


def promote(version: PromptVersion, *, evidence: dict) -> None:
    """Put a candidate in use, keeping the evidence that earned it."""
    with transaction.atomic():
        step = CadenceStep.objects.select_for_update().get(pk=version.step_id)
        previous = current_version(step)
        version.evidence = evidence
        version.promoted_at = timezone.now()
        _put_in_use(step, version, previous)


def rollback(step: CadenceStep) -> PromptVersion:
    """Put back the version that was in use before the current one, in one step."""
    with transaction.atomic():
        step = CadenceStep.objects.select_for_update().get(pk=step.pk)
        current = current_version(step)
        previous = (
            PromptVersion.objects.filter(step=step, number__lt=current.number, promoted_at__isnull=False).order_by("-number").first()
            or PromptVersion.objects.filter(step=step, number__lt=current.number, state=PromptVersion.State.RETIRED).order_by("-number").first()
        )
        if previous is None:
            raise PromptError(f"{step} has no earlier prompt version to roll back to.")
        previous.promoted_at = previous.promoted_at or timezone.now()
        _put_in_use(step, previous, current)
        PromptVersion.objects.filter(pk=previous.pk).update(promoted_at=previous.promoted_at)
        return previous
