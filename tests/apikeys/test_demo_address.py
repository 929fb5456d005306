"""`make run ADDR=host:port`: the address the demo serves on, read as runserver reads it, refused at once when
malformed or busy (before anything starts), and followed by every link the demo prints."""

import os
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apikeys.management.commands.rundemo import child_environment
from apikeys.management.demo_address import DemoAddress, demo_address_check_free, demo_address_parse
from tests.http_servers import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("addr", "host", "port", "base_url"),
    [
        ("127.0.0.1:8080", "127.0.0.1", 8080, "http://127.0.0.1:8080"),
        ("8081", "127.0.0.1", 8081, "http://127.0.0.1:8081"),
        ("localhost:8082", "localhost", 8082, "http://localhost:8082"),
        ("0.0.0.0:8083", "0.0.0.0", 8083, "http://127.0.0.1:8083"),  # noqa: S104 (parsed, not bound)
        ("[::1]:8084", "[::1]", 8084, "http://[::1]:8084"),
        (" 127.0.0.1:8085 ", "127.0.0.1", 8085, "http://127.0.0.1:8085"),
    ],
)
def test_an_addr_is_read_as_runserver_reads_it_and_links_reach_it(addr, host, port, base_url):
    address = demo_address_parse(addr)

    assert (address.host, address.port, address.base_url) == (host, port, base_url)
    assert str(address) == f"{host}:{port}"


@pytest.mark.parametrize(
    ("addr", "why"),
    [
        ("127.0.0.1", "it is not HOST:PORT"),
        ("127.0.0.1:", "it is not HOST:PORT"),
        ("http://127.0.0.1:8080", "it is not HOST:PORT"),
        ("127.0.0.1:80:80", "it is not HOST:PORT"),
        ("my host:8080", "it is not HOST:PORT"),
        ("", "it is not HOST:PORT"),
        ("127.0.0.1:0", "the port must be 1 to 65535, not 0"),
        ("127.0.0.1:65536", "the port must be 1 to 65535, not 65536"),
        ("300.1.1.1:8080", "300.1.1.1 is not an IPv4 address"),
        ("[1::2::3]:8080", "[1::2::3] is not an IPv6 address"),
    ],
)
def test_a_malformed_addr_is_refused_with_what_to_give_instead(addr, why):
    with pytest.raises(CommandError) as refusal:
        call_command("rundemo", "--addr", addr)

    assert str(refusal.value) == (
        f"ADDR {addr!r} cannot be served on: {why}. Give HOST:PORT or a port, e.g. "
        "make run ADDR=127.0.0.1:8080 (the default is 127.0.0.1:8000)."
    )


def test_a_busy_address_is_refused_with_a_free_one_to_use_instead():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        busy = DemoAddress("127.0.0.1", server.getsockname()[1])

        with pytest.raises(CommandError) as refusal:
            demo_address_check_free(busy)

    message = str(refusal.value)
    assert message.startswith(f"{busy} is in use; choose another address: make run ADDR=127.0.0.1:")
    spare = int(message.rsplit(":", 1)[1])
    assert 8080 <= spare < 8100
    demo_address_check_free(DemoAddress("127.0.0.1", spare))  # the one offered was free


def test_an_address_of_another_machine_is_refused_and_loopback_offered():
    with pytest.raises(CommandError) as refusal:
        demo_address_check_free(DemoAddress("192.0.2.1", 8080))  # TEST-NET-1: never this machine's

    assert "the host 192.0.2.1 is not an address of this machine" in str(refusal.value)
    assert "choose another address: make run ADDR=127.0.0.1:80" in str(refusal.value)


def test_a_free_address_passes():
    demo_address_check_free(DemoAddress("127.0.0.1", free_port()))


def test_make_run_passes_addr_and_defaults_to_port_8000():
    # Under `make test` (CI) this make is nested: MAKELEVEL makes it print "Entering/Leaving directory" lines.
    env = {k: v for k, v in os.environ.items() if k not in {"ADDR", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}

    def dry_run(*args):
        lines = subprocess.run(
            ["make", "--no-print-directory", "-n", "run", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        return next(line for line in reversed(lines) if "rundemo" in line)

    assert dry_run().endswith("manage.py rundemo --addr '127.0.0.1:8000'")
    assert dry_run("ADDR=127.0.0.1:8093").endswith("manage.py rundemo --addr '127.0.0.1:8093'")


def test_the_served_processes_sign_media_links_with_the_served_address(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert child_environment(demo_address_parse("0.0.0.0:8093"))["PUBLIC_BASE_URL"] == "http://127.0.0.1:8093"

    monkeypatch.setenv("PUBLIC_BASE_URL", "https://demo.example.com")  # the operator's own wins
    assert child_environment(demo_address_parse("8093"))["PUBLIC_BASE_URL"] == "https://demo.example.com"


@pytest.mark.django_db
def test_every_printed_link_follows_the_address(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = StringIO()

    call_command("rundemo", "--setup-only", "--addr", "127.0.0.1:8093", stdout=out)

    links = [word for word in out.getvalue().split() if word.startswith("http")]
    assert len(links) >= 5
    assert [link for link in links if not link.startswith("http://127.0.0.1:8093/")] == []
    assert "http://127.0.0.1:8093/portal/" in links


def test_rundemo_on_a_busy_port_exits_at_once_with_the_hint_and_starts_nothing(tmp_path):
    """As `make run` starts it, with a server already on the port: one line, exit status 1, no database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "S3_", "SQLITE_", "MEDIA_"))
    }
    env["GARMAX_DATA_DIR"] = str(tmp_path)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "manage.py", "rundemo", "--addr", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - started

    assert run.returncode == 1, run.stdout + run.stderr
    assert f"127.0.0.1:{port} is in use; choose another address: make run ADDR=127.0.0.1:80" in run.stderr
    assert took < 30  # Django's start-up, not six restarts with back-off
    assert "rundemo: web started" not in run.stdout and "GarmaxAI Enterprise API" not in run.stdout
    assert not (tmp_path / "garmax.sqlite3").exists()  # not even migrated
