"""`make run` (manage.py rundemo): a supervised embedded demo that never dies silently, and a demo key that
survives restarts."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from PIL import Image
from rest_framework.test import APIClient

from apikeys.management.commands.rundemo import DEMO_KEY_NAME, Supervisor
from apikeys.models import ApiKey
from organizations.models import MemberEvent, Organization
from tests.concurrency import wait_until
from tests.http_servers import GarmentServer, free_port
from tests.images import person_jpeg

ROOT = Path(__file__).resolve().parents[2]


class Demo:
    """`manage.py rundemo` as `make run` starts it, embedded (nothing set), in its own data folder."""

    def __init__(self, data_dir: Path, port: int):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "S3_", "SQLITE_", "MEDIA_"))
        }
        env.update(
            GARMAX_DATA_DIR=str(data_dir), OUTBOUND_ALLOW_PRIVATE_NETWORKS="true", PYTHONUNBUFFERED="1"
        )
        self.base = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundemo", "--addr", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 120, after: int = 0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if match := re.search(pattern, line):
                    return match
            assert self.process.poll() is None, f"rundemo exited early:\n{self.output}"
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s:\n{self.output[-5000:]}")

    def child_pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"rundemo: \w+ started \(pid (\d+)\)", self.output)]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        # Should rundemo itself have failed to clean up, leave no child of this test running.
        for pid in self.child_pids():
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue


@pytest.mark.slow
def test_the_demo_restarts_a_killed_worker_and_the_queued_cart_completes(tmp_path):
    garments = GarmentServer()
    demo = Demo(tmp_path, free_port())
    try:
        key = demo.wait_for_line(r"API key\s+(gx_live_\w+)").group(1)
        worker_pid = int(demo.wait_for_line(r"rundemo: worker started \(pid (\d+)\)").group(1))
        api = requests.Session()
        api.headers["X-API-Key"] = key
        wait_until(
            lambda: _answers(f"{demo.base}/health"),
            timeout=60,
            interval=0.5,
            message=f"the web never answered:\n{demo.output}",
        )

        customer = {"externalId": "customer_12345", "email": "john@example.com", "name": "John Doe"}
        assert api.post(f"{demo.base}/api/v1/customers", json=customer, timeout=30).status_code == 201
        photo = api.post(
            f"{demo.base}/api/v1/customers/customer_12345/photos",
            files={"photo": ("me.jpg", person_jpeg(), "image/jpeg")},
            timeout=30,
        )
        assert photo.status_code == 200, photo.text

        def cart(cart_id):
            body = {
                "cartId": cart_id,
                "customerPhotoS3Key": photo.json()["photoS3Key"],
                "cartItems": [
                    {"productId": "p1", "imageUrl": garments.url("/garment-1.png"), "category": "tops"}
                ],
                "renderQuality": "sd",
            }
            response = api.post(f"{demo.base}/api/v1/cart-tryons", json=body, timeout=30)
            assert response.status_code == 200, response.text
            return response.json()["id"]

        def status(session_id):
            return api.get(f"{demo.base}/api/v1/cart-tryons/{session_id}", timeout=30).json()["status"]

        # The first worker works...
        first = cart("cart-before")
        wait_until(
            lambda: status(first) == "completed",
            timeout=120,
            interval=0.5,
            message=f"first cart stuck:\n{demo.output}",
        )

        # ...then freezes with a charged cart waiting in the queue, and is killed.
        os.kill(worker_pid, signal.SIGSTOP)
        queued = cart("cart-during")
        time.sleep(2)
        assert status(queued) == "queued"
        before_kill = len(demo.lines)
        os.kill(worker_pid, signal.SIGKILL)

        demo.wait_for_line(r"rundemo: worker was killed by signal SIGKILL", timeout=30, after=before_kill)
        demo.wait_for_line(r"rundemo: restarting worker in 1 s", timeout=30, after=before_kill)
        restarted = demo.wait_for_line(r"rundemo: worker started \(pid (\d+)\)", after=before_kill)
        new_pid = int(restarted.group(1))
        assert new_pid != worker_pid
        wait_until(
            lambda: status(queued) == "completed",
            timeout=120,
            interval=0.5,
            message=f"queued cart never completed:\n{demo.output}",
        )
        assert demo.process.poll() is None  # the demo itself stayed up throughout
    finally:
        demo.stop()
        garments.close()
    assert demo.process.returncode == 0, demo.output[-3000:]
    assert "Unrecoverable error" not in demo.output


@pytest.mark.slow
def test_the_readme_journey_runs_as_written_and_ends_with_the_result_image(tmp_path):
    """README "Trying it", verbatim but for the ports, against the demo started as `make run` starts it, from
    a stand-in for the repository: its sample files land in the scratch folder, never in the repository."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Trying it") :]
    script = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh"))]
    demo = Demo(tmp_path / "var", free_port())
    script = script.replace("http://127.0.0.1:8000", demo.base).replace("8001", str(free_port()))
    work = tmp_path / "work"
    work.mkdir()
    (work / "var").symlink_to(tmp_path / "var")
    (work / ".venv").symlink_to(Path(sys.executable).parents[1])  # the README runs .venv/bin/python
    scratch = tmp_path / "tmp" / "garmax-journey"  # "${TMPDIR:-/tmp}/garmax-journey"
    scratch.parent.mkdir()
    try:
        demo.wait_for_line(r"rundemo: worker started")
        wait_until(
            lambda: _answers(f"{demo.base}/health"),
            timeout=60,
            interval=0.5,
            message=f"the web never answered:\n{demo.output}",
        )
        journey = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=work,
            env={**os.environ, "TMPDIR": str(scratch.parent)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = journey.communicate(timeout=180)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(journey.pid, signal.SIGKILL)  # the garment server, should the script stop early
    finally:
        demo.stop()
    assert journey.returncode == 0, output
    assert '"status": "completed"' in output
    assert sorted(path.name for path in work.iterdir()) == [
        ".venv",
        "var",
    ]  # the repository is left as it was
    assert {"me.jpg", "garments", "result.jpg", "look.jpg"} <= {path.name for path in scratch.iterdir()}
    with Image.open(scratch / "result.jpg") as result:
        red, green, blue = result.convert("RGB").getpixel((result.width // 2, int(result.height * 0.35)))
    assert red > 150 and green < 80 and blue < 80  # the red garment from the README, worn on the photo
    assert "'lookId': 'weekend'" in output and "'status': 'completed'" in output
    with Image.open(scratch / "look.jpg") as look:
        look = look.convert("RGB")
        top = look.getpixel((look.width // 2, int(look.height * 0.35)))
        # The trousers' left leg: the look wears both garments, the top over the bottoms.
        legs = look.getpixel((int(look.width * 0.42), int(look.height * 0.7)))
    assert top[0] > 150 and top[2] < 80, top
    assert legs[2] > 150 and legs[0] < 80, legs


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_child_that_keeps_dying_stops_the_demo_with_the_reason(tmp_path):
    crash = [sys.executable, "-c", "print('cannot open the broker folder', flush=True); exit(3)"]
    stay = [sys.executable, "-c", "import time; time.sleep(60)"]
    out = StringIO()
    supervisor = Supervisor(
        {"web": stay, "worker": crash}, env=dict(os.environ), out=OutputWrapper(out), backoff=0.05
    )

    with pytest.raises(CommandError) as failure:
        supervisor.run()

    assert "worker exited with status 3" in str(failure.value)
    assert "died 6 times within 300 s" in str(failure.value)
    report = out.getvalue()
    assert report.count("rundemo: restarting worker") == 5
    assert "    cannot open the broker folder" in report  # why it died, not just that it did
    assert supervisor.processes["web"].returncode is not None  # the rest of the demo was stopped too


@pytest.mark.django_db
def test_the_demo_key_is_kept_across_runs(settings, tmp_path):
    settings.DATA_DIR = tmp_path

    def setup_run() -> tuple[str, str]:
        out = StringIO()
        call_command("rundemo", "--setup-only", stdout=out)
        text = out.getvalue()
        return re.search(r"API key\s+(gx_live_\w+)", text).group(1), text

    first_key, _ = setup_run()
    second_key, second_output = setup_run()

    assert second_key == first_key
    assert "the same key as the last run" in second_output
    assert (tmp_path / "demo_api_key").stat().st_mode & 0o777 == 0o600
    assert ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).count() == 1
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=second_key)
    assert client.get("/api/v1/customers").status_code == 200


@pytest.mark.django_db
def test_a_lost_demo_key_is_replaced_and_the_output_says_the_old_one_was_revoked(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = StringIO()
    call_command("rundemo", "--setup-only", stdout=out)
    old_key = re.search(r"API key\s+(gx_live_\w+)", out.getvalue()).group(1)
    (tmp_path / "demo_api_key").unlink()

    out = StringIO()
    call_command("rundemo", "--setup-only", stdout=out)

    new_key = re.search(r"API key\s+(gx_live_\w+)", out.getvalue()).group(1)
    assert new_key != old_key
    assert f"the old demo key {old_key[:16]}… was revoked" in out.getvalue()
    assert (tmp_path / "demo_api_key").read_text().strip() == new_key
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=old_key)
    assert client.get("/api/v1/customers").status_code == 401


@pytest.mark.django_db
def test_the_demo_prints_a_test_key_kept_across_runs_that_sees_only_the_sandbox(settings, tmp_path):
    settings.DATA_DIR = tmp_path

    def setup_run() -> tuple[str, str, str]:
        out = StringIO()
        call_command("rundemo", "--setup-only", stdout=out)
        text = out.getvalue()
        live = re.search(r"API key\s+(gx_live_\w+)", text).group(1)
        return live, re.search(r"Test key\s+(gx_test_\w+)", text).group(1), text

    live_key, test_key, first_output = setup_run()
    _, again, _ = setup_run()
    assert again == test_key and "sandbox of 100" in first_output
    assert (tmp_path / "demo_test_api_key").stat().st_mode & 0o777 == 0o600
    live, test = APIClient(), APIClient()
    live.credentials(HTTP_X_API_KEY=live_key)
    test.credentials(HTTP_X_API_KEY=test_key)
    assert test.post("/api/v1/customers", {"externalId": "sandbox-shopper"}, format="json").status_code == 201
    assert live.get("/api/v1/customers").json()["total"] == 0
    assert test.get("/api/v1/account").json()["livemode"] is False


PORTAL_LINE = re.compile(
    r"Portal\s+http://127\.0\.0\.1:8093/portal/\s+user demo-partner\s+password (\S+)\s+"
    r"\((\w+) of the organization\)"
)


def _setup_run() -> str:
    out = StringIO()
    call_command("rundemo", "--setup-only", "--addr", "127.0.0.1:8093", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_demo_partner_is_made_once_as_the_organizations_owner_and_signs_in(
    settings, tmp_path, django_user_model
):
    settings.DATA_DIR = tmp_path

    first, second = _setup_run(), _setup_run()

    password, role = PORTAL_LINE.search(first).groups()
    assert PORTAL_LINE.search(second).groups() == (password, "owner") and role == "owner"
    assert (tmp_path / "demo_partner_password").read_text().strip() == password
    assert (tmp_path / "demo_partner_password").stat().st_mode & 0o777 == 0o600
    member = django_user_model.objects.get(username="demo-partner")
    assert (member.is_staff, member.is_superuser) == (False, False)
    organization = Organization.objects.get(name="Demo Fashion Shop", sandbox_of__isnull=True)
    roles = {m.user.username: m.role for m in organization.memberships.select_related("user")}
    assert roles == {"demo-partner": "owner", "demo-admin": "admin"}
    # Made through the team services, once: the trail shows it, and the second run added nothing.
    actions = MemberEvent.objects.filter(organization=organization).values_list("action", flat=True)
    assert sorted(actions) == ["added", "ownership_transferred"]
    # The printed JWT command is the partner's login, and it works.
    assert f'"username": "demo-partner", "password": "{password}"' in second
    token = APIClient().post(
        "/api/auth/token", {"username": "demo-partner", "password": password}, format="json"
    )
    assert token.status_code == 200, token.json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    assert api.get(f"/api/organizations/{organization.id}/members").status_code == 200


@pytest.mark.django_db
def test_a_rerun_keeps_the_demo_partners_role_and_replaces_a_lost_password(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    old_password, _ = PORTAL_LINE.search(_setup_run()).groups()
    organization = Organization.objects.get(name="Demo Fashion Shop", sandbox_of__isnull=True)
    organization.memberships.filter(user__username="demo-partner").update(role="developer")
    (tmp_path / "demo_partner_password").unlink()

    new_password, role = PORTAL_LINE.search(_setup_run()).groups()

    assert role == "developer"  # what the team made of it since; the demo does not take it back
    assert new_password != old_password
    assert (tmp_path / "demo_partner_password").read_text().strip() == new_password
    assert organization.memberships.count() == 2
