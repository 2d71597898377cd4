"""fideliza create_api_token --user NAME --name "TPV centro": prints the token once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fideliza.accounts.models import User
from fideliza.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token acting as USER and print it (only its digest is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username the token acts as (its role applies)")
        parser.add_argument("--name", required=True, help="the integration, e.g. 'TPV tienda centro'")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['user']!r}")
        name = " ".join(options["name"].split())
        if not name or len(name) > 100:
            raise CommandError("--name must have 1 to 100 characters")
        token, plain = api_token_create(user=user, name=name, created_by=None)
        self.stderr.write(f"Token {token.name!r} (id {token.pk}) acting as {user.username} ({user.role}). "
                          "Copy it now: it is not stored and cannot be shown again.")
        self.stdout.write(plain)
