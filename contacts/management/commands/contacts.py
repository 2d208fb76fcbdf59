from django.core.management.base import BaseCommand, CommandError

from contacts.client import ContactsClient
from contacts.models import shown
from contacts.protocol import ProtocolError
from contacts.server import parse_address


class Command(BaseCommand):
    help = "Talk to a contacts replica as a client: list, update CONTACT PHONE, delete CONTACT."

    def add_arguments(self, parser):
        parser.add_argument("--server", default="127.0.0.1:9000", help="HOST:PORT of a replica.")
        parser.add_argument("--user", required=True, help="Whose contacts.")
        commands = parser.add_subparsers(dest="action", required=True)
        commands.add_parser("list", help="Print this user's contacts, sorted by name.")
        update = commands.add_parser("update", help="Add a contact or change its phone number.")
        update.add_argument("contact")
        update.add_argument("phone")
        delete = commands.add_parser("delete", help="Remove a contact.")
        delete.add_argument("contact")

    def handle(self, *args, server, user, action, **options):
        try:
            host, port = parse_address(server)
            with ContactsClient(host, port, user) as client:
                if action == "update":
                    client.update(options["contact"], options["phone"])
                elif action == "delete":
                    client.delete(options["contact"])
                # The protocol has no acknowledgements: a ListAll after a write proves it was stored.
                entries = client.list_all()
        except ProtocolError as error:
            raise CommandError(f"{error}. Names are at most 255 bytes of UTF-8, phone numbers 19.")
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot reach a replica at {server}: {error}. Is `contact_replica` running?")
        if action == "list":
            if not entries:
                self.stderr.write(f"{user} has no contacts.")  # stdout stays the list: empty
            for contact, phone in entries:
                self.stdout.write(f"{shown(contact)}\t{shown(phone)}")
        else:
            self.stdout.write(f"{action}d; {user} has {len(entries)} contact{'' if len(entries) == 1 else 's'}.")
