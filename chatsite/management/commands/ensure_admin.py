from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create a superuser for local use unless one exists, and say how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")

    def handle(self, *args, username, password, **options):
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            User.objects.create_superuser(username=username, password=password)
        else:
            # On later runs the login is still worth showing, unless someone changed it.
            user = User.objects.filter(username=username, is_superuser=True).first()
            if user is None or not user.check_password(password):
                self.stdout.write("log in with your superuser")
                return
        self.stdout.write(f"log in as {username} / {password}")
