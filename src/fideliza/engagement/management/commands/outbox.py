"""`fideliza outbox status|sweep|send-test ADDRESS`: look at and drive the outbox by hand."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fideliza.engagement.outbox import due_message_ids, messages_send, stale_claims_requeue
from fideliza.engagement.selectors import outbox_status_counts


class Command(BaseCommand):
    help = "Outbox: status counts, a sweep now (re-queue interrupted, send what is due), or a test e-mail."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="messages per status")
        sweep = sub.add_parser("sweep", help="re-queue interrupted sends and send what is due, in this process")
        sweep.add_argument("--limit", type=int, default=10_000)
        test = sub.add_parser("send-test", help="send one e-mail through the configured SMTP server")
        test.add_argument("address")

    def handle(self, *args, action: str, **options) -> None:
        if action == "status":
            counts = outbox_status_counts()
            for status in sorted(counts):
                self.stdout.write(f"{status:10} {counts[status]}")
            if not counts:
                self.stdout.write("empty")
        elif action == "sweep":
            requeued = stale_claims_requeue()
            ids = due_message_ids(limit=options["limit"])
            result = messages_send(ids) if ids else {}
            self.stdout.write(f"requeued {requeued}, due {len(ids)}, result {dict(result)}")
        else:
            email = EmailMultiAlternatives(
                subject="Fideliza: prueba de correo", body="Si lee esto, el servidor SMTP está bien configurado.",
                from_email=settings.DEFAULT_FROM_EMAIL, to=[options["address"]],
                connection=get_connection(fail_silently=False))
            try:
                email.send()
            except Exception as exc:  # show the SMTP error to whoever is configuring it
                raise CommandError(f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}: {exc}") from exc
            self.stdout.write(f"sent to {options['address']} via {settings.EMAIL_HOST}:{settings.EMAIL_PORT}")
