"""The Head of Sales' part of the exit criteria: the quality rubric, its sign-off and the copy-quality confirmation.

The runbook expands beyond tier_1 only when "HoS confirms copy quality is
stable", after the HoS "approves the quality rubric and rejection reason
taxonomy". Both are records here: who, when, and which versions.

- The rubric is a short text the HoS reviews against. Each rubric row is one
  version and is never edited: writing the rubric again adds the next version,
  so a sign-off always names the exact text it approved.
- The rejection-tag taxonomy lives in outreach; ramp never imports it. Outreach
  registers a provider (`register_taxonomy_provider`) that returns the usable
  tags and their version: a digest of them, so any change to the set (a tag
  added, relabelled, reworded or retired, by whatever path) is a new version.
- A sign-off counts while the rubric and the taxonomy are still at the versions
  it names. Any change asks for it again.
- A copy-quality confirmation counts only for the clean streak it was made in,
  at the level it was made at, and only after the sign-off in force: a new
  streak (a day broke the old one, a graduation or a rollback) or a new
  sign-off asks for it again. That is the safer reading of "stable": the
  HoS vouches for the copy of the days graduation is about to reward.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.utils import timezone

@dataclass(frozen=True)
class Taxonomy:
    """The rejection tags a reviewer may choose now, and their version."""

    version: str
    tags: tuple[str, ...]


TaxonomyProvider = Callable[[], Taxonomy]
_taxonomy_provider: TaxonomyProvider | None = None


def register_taxonomy_provider(provider: TaxonomyProvider) -> None:
    """Name the function that returns the current rejection-tag taxonomy (outreach registers it when it loads)."""
    global _taxonomy_provider
    _taxonomy_provider = provider


class NoTaxonomyProvider(Exception):
    pass


def current_taxonomy() -> Taxonomy:
    if _taxonomy_provider is None:
        raise NoTaxonomyProvider("No rejection-tag taxonomy is registered: the outreach app registers it when it loads.")
    return _taxonomy_provider()


class QualityRubric(models.Model):
    """One version of the rubric the Head of Sales reviews copy against; never edited, superseded by the next."""

    version = models.PositiveIntegerField(unique=True, editable=False)
    text = models.TextField(help_text="What good copy is, point by point: the reviewer approves or rejects against it.")
    written_by = models.CharField(max_length=150, blank=True)
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        verbose_name = "quality rubric"

    def __str__(self) -> str:
        return f"Quality rubric v{self.version}"

    @classmethod
    def current(cls) -> QualityRubric | None:
        return cls.objects.order_by("-version").first()


class QualitySignoff(models.Model):
    """The Head of Sales' sign-off of the rubric and the rejection-tag taxonomy, at the versions they had then."""

    signed_by = models.CharField(max_length=150)
    signed_at = models.DateTimeField(default=timezone.now)
    rubric_version = models.PositiveIntegerField()
    taxonomy_version = models.CharField(max_length=32)
    taxonomy_tags = models.JSONField(default=list, help_text="The tags signed off, as they read then.")

    class Meta:
        ordering = ["-signed_at", "-pk"]
        verbose_name = "quality sign-off"
        permissions = [
            ("sign_off_quality", "Can sign off the quality rubric and rejection tags, and confirm copy quality (Head of Sales)")
        ]

    def __str__(self) -> str:
        return f"Sign-off of rubric v{self.rubric_version} and tags {self.taxonomy_version} by {self.signed_by}"

    def as_line(self) -> str:
        return (
            f"rubric v{self.rubric_version} and rejection tags {self.taxonomy_version} ({len(self.taxonomy_tags)} tags) "
            f"signed off by {self.signed_by} on {self.signed_at:%Y-%m-%d %H:%M} UTC"
        )


class QualityConfirmation(models.Model):
    """The Head of Sales' confirmation that copy quality is stable, for one clean streak at one level."""

    confirmed_by = models.CharField(max_length=150)
    confirmed_at = models.DateTimeField(default=timezone.now)
    graduation_level = models.PositiveSmallIntegerField(help_text="The level the ramp was at.")
    streak_began = models.DateField(help_text="The first clean day of the streak confirmed.")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-confirmed_at", "-pk"]
        verbose_name = "copy-quality confirmation"

    def __str__(self) -> str:
        return f"Copy quality confirmed by {self.confirmed_by} ({self.confirmed_at:%Y-%m-%d})"

    def as_line(self) -> str:
        return (
            f"copy quality confirmed stable by {self.confirmed_by} on {self.confirmed_at:%Y-%m-%d %H:%M} UTC "
            f"(level {self.graduation_level}, streak from {self.streak_began})"
        )


@dataclass(frozen=True)
class SignoffState:
    """Where the sign-off stands: the latest one, what it would have to name now, and why it does not count."""

    signoff: QualitySignoff | None
    rubric: QualityRubric | None
    taxonomy: Taxonomy
    problems: tuple[str, ...]

    @property
    def current(self) -> bool:
        return not self.problems


def signoff_state() -> SignoffState:
    """Judge the latest sign-off against today's rubric and taxonomy; `problems` are graduation's reasons, worded once here."""
    rubric, taxonomy = QualityRubric.current(), current_taxonomy()
    signoff = QualitySignoff.objects.first()
    problems: list[str] = []
    if rubric is None:
        problems.append("no quality rubric is written yet: the Head of Sales adds one in the admin")
    elif signoff is None:
        problems.append("the Head of Sales has not signed off the quality rubric and rejection tags (`ramp signoff --apply --token T` with their personal token, or Ramp › Quality sign-offs)")
    else:
        changed = []
        if signoff.rubric_version != rubric.version:
            changed.append(f"the quality rubric changed (v{signoff.rubric_version} signed, v{rubric.version} now)")
        if signoff.taxonomy_version != taxonomy.version:
            changed.append(f"the rejection tags changed ({signoff.taxonomy_version} signed, {taxonomy.version} now)")
        if changed:
            problems.append(
                f"the Head of Sales' sign-off of {signoff.signed_at:%Y-%m-%d} no longer counts: asked again since "
                + " and ".join(changed)
            )
    return SignoffState(signoff=signoff, rubric=rubric, taxonomy=taxonomy, problems=tuple(problems))


@dataclass(frozen=True)
class ConfirmationState:
    confirmation: QualityConfirmation | None
    problems: tuple[str, ...]

    @property
    def current(self) -> bool:
        return not self.problems


def confirmation_state(*, level: int, streak_began: dt.date | None, signoff: SignoffState) -> ConfirmationState:
    """Judge the copy-quality confirmations against the clean streak under review (see the module docstring)."""
    latest = QualityConfirmation.objects.first()
    counting = QualityConfirmation.objects.filter(graduation_level=level, streak_began=streak_began)
    if signoff.signoff is not None:
        counting = counting.filter(confirmed_at__gte=signoff.signoff.signed_at)
    # A stale sign-off is its own reason; the confirmation is judged against the latest one.
    if streak_began is not None and counting.exists():
        return ConfirmationState(confirmation=counting.first(), problems=())
    ask = "(`ramp confirm-quality --apply --token T` with their personal token, or Ramp › Quality sign-offs)"
    if latest is None or streak_began is None:
        problem = f"the Head of Sales has not confirmed copy quality is stable during this clean streak at level {level} {ask}"
    elif latest.graduation_level != level:
        problem = f"the Head of Sales' copy-quality confirmation was made at level {latest.graduation_level}, not level {level}: asked again {ask}"
    elif latest.streak_began != streak_began:
        problem = (
            f"the Head of Sales' copy-quality confirmation was for the streak from {latest.streak_began}; "
            f"this streak began {streak_began}: asked again {ask}"
        )
    else:
        problem = f"the Head of Sales' copy-quality confirmation predates the current sign-off: asked again {ask}"
    return ConfirmationState(confirmation=latest, problems=(problem,))
