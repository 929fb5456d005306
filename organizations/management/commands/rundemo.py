"""Set up and start the embedded service: migrations, a demo staff user, organization and API key, then
web + Celery worker (with beat) as child processes until Ctrl-C."""

import contextlib
import os
import secrets
import signal
import subprocess
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from apikeys import services as apikey_services
from apikeys.models import ApiKey
from organizations import services as organization_services
from organizations.models import Organization

DEMO_USERNAME = "demo-admin"
DEMO_ORGANIZATION = "Demo Fashion Shop"
DEMO_KEY_NAME = "Demo key (rundemo)"


class Command(BaseCommand):
    help = "Migrate, create demo data, and run web + worker + beat (embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--setup-only", action="store_true", help="Create demo data and exit.")

    def handle(self, *args, addr, setup_only, **options):
        call_command("migrate", interactive=False, verbosity=0)
        password, organization, raw_key = self._demo_data()
        base = f"http://{addr}"
        self.stdout.write(
            "\nGarmaxAI Enterprise API (embedded mode: SQLite, local media, filesystem broker)\n"
            f"  API docs     {base}/api/docs   (schema {base}/api/schema)\n"
            f"  Admin        {base}/admin/     user {DEMO_USERNAME}  "
            f"password {password}\n"
            f"  Organization {organization.id}  ({organization.name}, {organization.credits} credits)\n"
            f"  API key      {raw_key}\n"
            "               (all scopes; shown once — a new one is made each run)\n"
            f"  Try it       curl -H 'X-API-Key: {raw_key}' {base}/api/v1/customers\n"
            f"  JWT          curl -X POST {base}/api/auth/token -H 'Content-Type: application/json' "
            f'-d \'{{"username": "{DEMO_USERNAME}", "password": "{password}"}}\'\n'
        )
        if setup_only:
            return
        self._serve(addr)

    def _demo_data(self):
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"email": "demo@example.com"})
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = user.is_superuser = True
        user.save()
        user.groups.add(*Group.objects.filter(name__in=["billing", "support"]))
        organization = Organization.objects.filter(name=DEMO_ORGANIZATION, memberships__user=user).first()
        if organization is None:
            organization = organization_services.organization_create(
                owner=user,
                name=DEMO_ORGANIZATION,
                domain="demo.example.com",
                billing_email="billing@example.com",
            )
        for old_key in ApiKey.objects.filter(
            organization=organization, name=DEMO_KEY_NAME, revoked_at__isnull=True
        ):
            apikey_services.apikey_revoke(key=old_key, actor=user)
        _, raw_key = apikey_services.apikey_create(
            organization=organization, name=DEMO_KEY_NAME, scopes=["all"], created_by=user
        )
        return password, organization, raw_key

    def _serve(self, addr):
        python = sys.executable
        # Signed media links must point at the address we actually serve on.
        env = {**os.environ, "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", f"http://{addr}")}
        # Fixed argument lists built from sys.executable: no shell, no user input.
        worker = subprocess.Popen(
            [
                python,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--beat",
                "--loglevel=INFO",
                "--concurrency=2",
                "-Q",
                "celery,tryons,webhooks",
                "--schedule",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
            env=env,
        )
        web = subprocess.Popen(
            [
                python,
                "manage.py",
                "runserver",
                addr,
                "--noreload",
                "--insecure",
            ],
            env=env,
        )
        children = [web, worker]

        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    web.wait(timeout=1)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
