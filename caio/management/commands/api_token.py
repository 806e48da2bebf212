"""`manage.py api_token create|list|rotate|revoke`: tokens for the JSON API."""

from __future__ import annotations

import getpass
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from caio.models import ApiToken


class Command(BaseCommand):
    help = (
        "Manage JSON API tokens. `create NAME` and `rotate PREFIX` print the new token once (it is stored hashed "
        "and cannot be shown again); `list` shows prefixes only; `revoke PREFIX` stops a token at once. "
        "`create NAME --user USERNAME` issues a personal token, the person's credentials for the ramp commands that "
        "record their acts: it asks for that person's password (or reads it from --password-env VAR)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="create|list|rotate|revoke")
        create = sub.add_parser("create", help="Issue a token and print it once.")
        create.add_argument("name", help="What the token is for, e.g. production-smoke.")
        create.add_argument("--by", default="", help="Who creates it.")
        create.add_argument("--user", help="Issue a personal token standing for this user (their password is asked).")
        create.add_argument("--password-env", metavar="VAR", help="With --user: read the password from this environment variable.")
        listing = sub.add_parser("list", help="List tokens by prefix (never the token).")
        listing.add_argument("--all", action="store_true", help="Include revoked tokens.")
        rotate = sub.add_parser("rotate", help="Revoke a token and print its replacement once.")
        rotate.add_argument("prefix", help="The token's prefix, as `list` shows it.")
        rotate.add_argument("--by", default="", help="Who rotates it.")
        revoke = sub.add_parser("revoke", help="Revoke a token at once.")
        revoke.add_argument("prefix", help="The token's prefix, as `list` shows it.")

    def handle(self, *args, **options):
        return getattr(self, f"do_{options['action']}")(options)

    def _by_prefix(self, prefix: str) -> ApiToken:
        matches = list(ApiToken.objects.filter(prefix=prefix.rstrip("…").strip()))
        if not matches:
            raise CommandError(f"No token has the prefix {prefix!r} (see `api_token list --all`).")
        if len(matches) > 1:
            raise CommandError(f"{len(matches)} tokens share the prefix {prefix!r}; revoke them in the admin.")
        return matches[0]

    def _show_once(self, token: ApiToken, raw: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"Token {token.name!r} ({token.prefix}…) issued. Store it now; it is not shown again:"))
        self.stdout.write(raw)

    def do_create(self, options):
        if not options["name"].strip():
            raise CommandError("A token needs a name saying what it is for.")
        user = self._person(options) if options["user"] else None
        token, raw = ApiToken.issue(options["name"].strip(), created_by=options["by"] or (user.get_username() if user else ""), user=user)
        self._show_once(token, raw)

    def _person(self, options):
        """Return the user of --user once their password is given: a personal token is issued to its person only."""
        username = options["user"]
        if options["password_env"]:
            password = os.environ.get(options["password_env"], "")
        else:
            password = getpass.getpass(f"Password of {username}: ")
        # The password itself, checked here (the login throttle guards the web form, which a shell is not).
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None or not user.check_password(password):
            raise CommandError(f"Wrong password for {username!r}, or no such active user: no token issued.")
        return user

    def do_list(self, options):
        tokens = ApiToken.objects.select_related("user")
        tokens = tokens if options["all"] else tokens.filter(revoked_at__isnull=True)
        for token in tokens:
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            owner = f"for {token.user.get_username()}" if token.user_id else "service"
            self.stdout.write(
                f"{token.prefix}…  {token.name:<30} {owner:<16} {state:<24} last used {used}  by {token.created_by or '-'}"
            )
        self.stdout.write(f"{tokens.count()} token(s).")

    def do_rotate(self, options):
        old = self._by_prefix(options["prefix"])
        try:
            token, raw = old.rotate(created_by=options["by"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Revoked {old.prefix}…; it stops working now.")
        self._show_once(token, raw)

    def do_revoke(self, options):
        token = self._by_prefix(options["prefix"])
        if not token.revoke():
            raise CommandError(f"Token {token.prefix}… was already revoked.")
        self.stdout.write(f"Revoked {token.prefix}… ({token.name}); it stops working now.")
