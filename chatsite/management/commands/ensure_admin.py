from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser for local use unless one exists, and say how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")

    def handle(self, *args, username, password, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("Admin: log in at http://127.0.0.1:8000/admin/ with your superuser.")
            return
        User.objects.create_superuser(username=username, password=password)
        self.stdout.write(f"Admin: log in at http://127.0.0.1:8000/admin/ as {username} / {password}.")
