"""Set up and start the embedded service: migrations, a demo staff user, organization, partner member and API
keys, then web + Celery worker (with beat) as supervised child processes until Ctrl-C."""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import bcrypt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from api.credentials import LIVE_KEY_PREFIX
from apikeys import services as apikey_services
from apikeys.management.demo_address import (
    DEFAULT_ADDR,
    DemoAddress,
    demo_address_check_free,
    demo_address_parse,
)
from apikeys.models import ApiKey
from organizations import services as organization_services
from organizations.models import Membership, Organization
from organizations.roles import Role
from organizations.services import members as team

DEMO_USERNAME = "demo-admin"
DEMO_ORGANIZATION = "Demo Fashion Shop"
DEMO_KEY_NAME = "Demo key (rundemo)"
DEMO_TEST_KEY_NAME = "Demo test key (rundemo)"
# Kept beside the SQLite file so that a saved key keeps working from one `make run` to the next.
DEMO_KEY_FILE = "demo_api_key"
DEMO_TEST_KEY_FILE = "demo_test_api_key"
DEMO_PASSWORD_FILE = "demo_admin_password"  # noqa: S105 (a file name)
# The partner's side of the demo: a member (not staff) who signs in to the portal and the JWT API.
DEMO_MEMBER_USERNAME = "demo-partner"
DEMO_MEMBER_EMAIL = "partner@demo.example.com"
DEMO_MEMBER_PASSWORD_FILE = "demo_partner_password"  # noqa: S105 (a file name)


class Command(BaseCommand):
    help = "Migrate, create demo data, and run web + worker + beat (embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--addr",
            default=DEFAULT_ADDR,
            help=f"HOST:PORT or PORT to serve on (make run ADDR=…); default {DEFAULT_ADDR}",
        )
        parser.add_argument("--setup-only", action="store_true", help="Create demo data and exit.")

    def handle(self, *args, addr, setup_only, **options):
        address = demo_address_parse(addr)
        if not setup_only:
            # Before anything starts: a busy port is one line and exit status 1, not six deaths of the web.
            demo_address_check_free(address)
        call_command("migrate", interactive=False, verbosity=0)
        password, organization, (raw_key, key_note), (test_key, test_note) = self._demo_data()
        member_password, member_role = self._demo_member(organization)
        sandbox = organization_services.organization_sandbox(organization=organization)
        base = address.base_url
        self.stdout.write(
            "\nGarmaxAI Enterprise API (embedded mode: SQLite, local media, filesystem broker)\n"
            f"  API docs     {base}/api/docs   (schema {base}/api/schema)\n"
            f"  Portal       {base}/portal/    user {DEMO_MEMBER_USERNAME}  password {member_password}  "
            f"({member_role} of the organization)\n"
            f"  Admin        {base}/admin/     user {DEMO_USERNAME}  "
            f"password {password}  (staff)\n"
            f"  Organization {organization.id}  ({organization.name}, {organization.credits} credits)\n"
            f"  API key      {raw_key}\n"
            f"               ({key_note})\n"
            f"  Test key     {test_key}\n"
            f"               (test mode: sandbox of {sandbox.credits} credits, local renderer; {test_note})\n"
            f"  Try it       curl -H 'X-API-Key: {raw_key}' {base}/api/v1/customers\n"
            f"  JWT          curl -X POST {base}/api/auth/token -H 'Content-Type: application/json' "
            f'-d \'{{"username": "{DEMO_MEMBER_USERNAME}", "password": "{member_password}"}}\'\n'
        )
        if setup_only:
            return
        self._serve(address)

    def _demo_data(self):
        user, password = _demo_user(DEMO_USERNAME, "demo@example.com", DEMO_PASSWORD_FILE)
        user.is_staff = user.is_superuser = True
        user.save()
        user.groups.add(*Group.objects.filter(name__in=["billing", "support"]))
        organization = Organization.objects.filter(
            name=DEMO_ORGANIZATION,
            sandbox_of__isnull=True,
            memberships__user__username__in=[DEMO_USERNAME, DEMO_MEMBER_USERNAME],
        ).first()
        if organization is None:
            organization = organization_services.organization_create(
                owner=user,
                name=DEMO_ORGANIZATION,
                domain="demo.example.com",
                billing_email="billing@example.com",
            )
        live = self._demo_key(organization, user, mode=ApiKey.Mode.LIVE)
        test = self._demo_key(organization, user, mode=ApiKey.Mode.TEST)
        return password, organization, live, test

    def _demo_member(self, organization) -> tuple[str, str]:
        """The demo partner's password and role. Made a member once, through the team services (so the
        team's audit trail shows it): added by the staff user, who then hands over the ownership they got
        with the organization, so every portal page can be tried. Later runs keep whatever role it has."""
        member, password = _demo_user(DEMO_MEMBER_USERNAME, DEMO_MEMBER_EMAIL, DEMO_MEMBER_PASSWORD_FILE)
        member.save()
        membership = Membership.objects.filter(organization=organization, user=member).first()
        if membership is None:
            staff = get_user_model().objects.get(username=DEMO_USERNAME)
            team.member_add(organization=organization, actor=staff, email=member.email, role=Role.ADMIN)
            if Membership.objects.filter(organization=organization, user=staff, role=Role.OWNER).exists():
                team.member_role_set(
                    organization=organization, actor=staff, user_id=member.pk, role=Role.OWNER
                )
            membership = Membership.objects.get(organization=organization, user=member)
        return password, membership.role

    def _demo_key(self, organization, user, *, mode: str) -> tuple[str, str]:
        """The key saved by the last run if it still works, else a new one; the note says which and why."""
        file_name, name = (
            (DEMO_KEY_FILE, DEMO_KEY_NAME)
            if mode == ApiKey.Mode.LIVE
            else (DEMO_TEST_KEY_FILE, DEMO_TEST_KEY_NAME)
        )
        key_file = Path(settings.DATA_DIR) / file_name
        saved = _saved_secret(file_name)
        active = ApiKey.objects.filter(
            organization=organization, name=name, mode=mode, revoked_at__isnull=True
        )
        if saved and apikey_services.KEY_PATTERN.match(saved):
            prefix = saved[: len(LIVE_KEY_PREFIX) + apikey_services.LOOKUP_LENGTH]
            key = active.filter(key_prefix=prefix).first()
            if (
                key is not None
                and key.status == ApiKey.Status.ACTIVE
                and bcrypt.checkpw(saved.encode(), key.key_hash.encode())
            ):
                return saved, f"all scopes; the same key as the last run, saved in {key_file}"
        replaced = []
        for old_key in active:
            # Its secret is not on disk any more (or no longer matches), so nobody here can use it: retire it.
            apikey_services.apikey_revoke(key=old_key, actor=user)
            replaced.append(old_key.key_prefix)
        _, raw_key = apikey_services.apikey_create(
            organization=organization, name=name, scopes=["all"], created_by=user, mode=mode
        )
        _save_secret(file_name, raw_key)
        if replaced:
            old = ", ".join(f"{prefix}…" for prefix in replaced)
            return raw_key, f"all scopes; NEW key saved in {key_file}; the old demo key {old} was revoked"
        if saved:
            return raw_key, f"all scopes; NEW key saved in {key_file}: the saved one was revoked or expired"
        return raw_key, f"all scopes; saved in {key_file} and reused by the next run"

    def _serve(self, address: DemoAddress):
        python = sys.executable
        env = child_environment(address)
        # Fixed argument lists built from sys.executable: no shell, no user input.
        worker = [
            python,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--loglevel=INFO",
            "--concurrency=2",
            "--schedule",
            settings.CELERY_BEAT_SCHEDULE_FILENAME,
        ]
        web = [python, "manage.py", "runserver", str(address), "--noreload", "--insecure"]
        Supervisor({"web": web, "worker": worker}, env=env, out=self.stdout).run()


def child_environment(address: DemoAddress) -> dict[str, str]:
    # Signed media links must point at the address we actually serve on, unless the operator said otherwise.
    base_url = os.environ.get("PUBLIC_BASE_URL", address.base_url)
    return {**os.environ, "PUBLIC_BASE_URL": base_url, "PYTHONUNBUFFERED": "1"}


def _demo_user(username: str, email: str, password_file: str):
    """The demo user and its password: the one saved by the last run if it still signs in, else a new one,
    saved owner-only. The caller saves the user."""
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
    password = _saved_secret(password_file)
    if password is None or not user.check_password(password):
        password = secrets.token_urlsafe(12)
        _save_secret(password_file, password)
    user.set_password(password)
    return user, password


def _saved_secret(name: str) -> str | None:
    try:
        return (Path(settings.DATA_DIR) / name).read_text().strip() or None
    except FileNotFoundError:
        return None


def _save_secret(name: str, value: str) -> None:
    path = Path(settings.DATA_DIR) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created owner-only before the secret is written, so it is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(value + "\n")
    path.chmod(0o600)


class Supervisor:
    """Run child processes; when one dies, say why and restart it, and give up loudly if it keeps dying.

    Each child gets its own process group, so a dead worker's pool and beat processes are ended with it
    instead of lingering next to its replacement. A child that dies more than `max_restarts` times within
    `window` seconds is not restarted again: everything is stopped and CommandError (exit status 1) names
    the child and why it died. Restarts back off exponentially from `backoff` seconds, capped at 30.
    """

    TAIL_LINES = 15

    def __init__(self, commands, *, env, out, max_restarts=5, window=300.0, backoff=1.0):
        self.commands = commands
        self.env = env
        self.out = out
        self.max_restarts = max_restarts
        self.window = window
        self.backoff = backoff
        self.processes: dict[str, subprocess.Popen] = {}
        self.tails: dict[str, deque] = {name: deque(maxlen=self.TAIL_LINES) for name in commands}
        self.relays: dict[str, threading.Thread] = {}
        self.started_at: dict[str, float] = {}
        self.deaths: dict[str, list[float]] = {name: [] for name in commands}
        self.restart_at: dict[str, float] = {}
        self.stopping = False
        self.write_lock = threading.Lock()

    def run(self) -> None:
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            for name in self.commands:
                self._start(name)
            while not self.stopping:
                self._check()
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            signal.signal(signal.SIGTERM, previous)

    def _on_sigterm(self, *_):
        self.stopping = True

    def _say(self, text: str) -> None:
        with self.write_lock:
            self.out.write(text)
            self.out.flush()

    def _start(self, name: str) -> None:
        process = subprocess.Popen(
            self.commands[name],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        self.started_at[name] = time.monotonic()
        relay = threading.Thread(target=self._relay, args=(name, process), daemon=True)
        relay.start()
        self.relays[name] = relay
        self._say(f"rundemo: {name} started (pid {process.pid})")

    def _relay(self, name: str, process: subprocess.Popen) -> None:
        # Pass the child's output through, prefixed, and keep its last lines for the report if it dies.
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.tails[name].append(line)
            self._say(f"{name:<6} | {line}")

    def _check(self) -> None:
        now = time.monotonic()
        for name, process in list(self.processes.items()):
            if name in self.restart_at:
                if now >= self.restart_at[name]:
                    del self.restart_at[name]
                    self._start(name)
                continue
            code = process.poll()
            if code is None:
                continue
            self._bury(name, process)
            self.deaths[name] = [t for t in self.deaths[name] if now - t < self.window] + [now]
            reason = f"{name} {describe_exit(code)} after {now - self.started_at[name]:.0f} s"
            tail = "\n".join(f"    {line}" for line in self.tails[name]) or "    (no output)"
            restarts = len(self.deaths[name])
            if restarts > self.max_restarts:
                self._say(f"rundemo: {reason}; its last output:\n{tail}")
                raise CommandError(
                    f"{reason}; it died {restarts} times within {self.window:.0f} s, so rundemo gives up "
                    "and stops the demo (its last output is above)."
                )
            delay = min(self.backoff * 2 ** (restarts - 1), 30.0)
            self._say(
                f"rundemo: {reason}; its last output:\n{tail}\n"
                f"rundemo: restarting {name} in {delay:.0f} s (restart {restarts} of {self.max_restarts} "
                f"allowed within {self.window:.0f} s)"
            )
            self.tails[name].clear()
            self.restart_at[name] = now + delay

    def _bury(self, name: str, process: subprocess.Popen) -> None:
        # The dead process's own children (Celery's pool, beat) would keep running and hold its output pipe.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        self.relays[name].join(timeout=5)

    def stop(self) -> None:
        self.stopping = True
        waiting = self.restart_at
        running = [p for name, p in self.processes.items() if name not in waiting and p.poll() is None]
        for process in running:
            # The leader only: a Celery worker then stops its pool and beat itself (warm shutdown).
            process.terminate()
        deadline = time.monotonic() + 15
        for process in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        for process in self.processes.values():
            # Whatever did not stop in time, and anything a child left behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"
