"""Who may do what to the ramp: every hold, clear, decision and graduation names a real user with the permission.

The admin's logged-in user and the terminal's person go through the same check,
so a name that is not a user, or a user without the permission, is refused
with the reason. On the terminal a typed name proves nothing: an act recorded
in a person's name (a decision, a clear, a graduation, the Head of Sales'
sign-off and confirmation) needs that person's personal API token
(`person_from_token`), as the admin needs their login.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from caio.models import ApiToken

# The permission each ramp act needs (the Operator group has the first four and
# proposes policy changes; the Head of Sales may raise a hold, and only the Head
# of Sales signs off quality and approves a proposed policy change).
RAISE_HOLD = "ramp.add_hold"
CLEAR_HOLD = "ramp.change_hold"
DECIDE_DAY = "ramp.change_rampday"
CHANGE_POLICY = "ramp.change_ramppolicy"
SIGN_OFF_QUALITY = "ramp.sign_off_quality"
WRITE_RUBRIC = "ramp.add_qualityrubric"
PROPOSE_POLICY_CHANGE = "ramp.add_ramppolicychange"
APPROVE_POLICY_CHANGE = "ramp.approve_ramppolicychange"

_ACTS = {
    RAISE_HOLD: "raise a hold",
    CLEAR_HOLD: "clear a hold",
    DECIDE_DAY: "decide a ramp day",
    CHANGE_POLICY: "graduate or change the ramp policy",
    WRITE_RUBRIC: "write the quality rubric",
    SIGN_OFF_QUALITY: "sign off the quality rubric and rejection tags or confirm copy quality",
    PROPOSE_POLICY_CHANGE: "propose a ramp policy change",
    APPROVE_POLICY_CHANGE: "approve or reject a ramp policy change",
}
# Whose permission it is, for the refusal: the Head of Sales' acts are not an operator's.
_HOLDERS = {
    SIGN_OFF_QUALITY: "the Head of Sales'",
    WRITE_RUBRIC: "the Head of Sales' or an operator's",
    APPROVE_POLICY_CHANGE: "the Head of Sales'",
}


class NotAllowed(Exception):
    """The named person does not exist, is inactive, or lacks the permission; the message says which."""


def person_with(permission: str, username: str):
    """Return the active user `username` if they hold `permission`, else raise NotAllowed naming why."""
    act = _ACTS[permission]
    name = (username or "").strip()
    if not name:
        raise NotAllowed(f"To {act} a named person is required.")
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise NotAllowed(f"{name!r} is not a user: only a named user with the permission may {act}.")
    if not user.is_active:
        raise NotAllowed(f"{name!r} is not an active user and may not {act}.")
    if not user.has_perm(permission):
        holder = _HOLDERS.get(permission, "an operator's")
        raise NotAllowed(f"{name!r} may not {act}: that needs the {permission} permission ({holder}).")
    return user


TOKEN_ENV = "CAIO_TOKEN"


def person_from_token(permission: str, *, raw_token: str, by: str = ""):
    """Return the user a personal API token stands for, if they hold `permission`, else raise NotAllowed naming why.

    `by`, when given, must be that user: a token never records an act in
    another person's name. Service tokens (no user) act for nobody.
    """
    act = _ACTS[permission]
    name = (by or "").strip()
    whose = f"{name}'s" if name else "the person's"
    if not (raw_token or "").strip():
        raise NotAllowed(
            f"To {act} from the command line, give {whose} personal API token (--token T, or {TOKEN_ENV} in the "
            "environment; `manage.py api_token create NAME --user USERNAME` issues one): a typed name is not enough."
        )
    token = ApiToken.authenticate(raw_token.strip())
    if token is None:
        raise NotAllowed(f"That API token is wrong, rotated or revoked: it may not {act}.")
    if token.user_id is None:
        raise NotAllowed(f"Token {token.prefix}… is a service token and acts for nobody: {act} with a personal token.")
    owner = token.user.get_username()
    if name and name != owner:
        raise NotAllowed(f"Token {token.prefix}… is {owner}'s, not {name}'s: nobody may {act} in another person's name.")
    return person_with(permission, owner)
