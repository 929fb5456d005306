"""The image on this machine, as operators run it: .ci/containers builds it, then runs this module.

    python -m tests.deploy.containers --image IMAGE --workdir DIR --state-file FILE [--redis-db N]

1. Containers (podman run, host network, read-only root filesystem, uid 10001): one-shot migrate,
   renderer_check and createsuperuser; two web containers on two ports, a worker and beat, on the machine's
   PostgreSQL (a fresh database), Redis (a private db number, the cache) and RabbitMQ (a private vhost, the
   broker). The README journey; a worker killed mid-cart and its cart finished by a new one; one web
   container replaced while polling traffic runs over both, with no failed request.
2. deploy/kubernetes played with `podman kube play` (tests/deploy/kube_play.py says what it changes), on
   a second fresh database with Redis as the broker: the migrate Job, then the Deployments; the journey again.
Garments and the webhook receiver are loopback servers in this process; S3 is moto's server. Everything
started is written to the state file first, so .ci/containers can remove it even if this process dies.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import boto3
import redis
import requests

from tests import rabbitmq
from tests.concurrency import wait_until
from tests.deploy import kube_play
from tests.deploy.journey import cart_outlives_worker, check, partner_journey
from tests.deploy.traffic import Traffic
from tests.e2e.client import Operator
from tests.http_servers import GarmentServer, WebhookReceiver, free_port

PROBES = (requests.RequestException, ValueError)
STAFF = "ci-operator"
BUCKET = "garmax-containers"
PG_ADMIN = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc"]


class Run:
    """One run's resources, each noted in the state file before it exists."""

    def __init__(self, args):
        self.image, self.workdir, self.state = args.image, Path(args.workdir), Path(args.state_file)
        self.prefix = f"garmax-ctr-{os.getpid()}"
        self.redis_db = args.redis_db
        self.secret_key = secrets.token_urlsafe(48)
        self.staff_password = secrets.token_urlsafe(16)
        self.s3_port = free_port()
        self.report: dict = {"timings": {}}

    def note(self, kind: str, value: str) -> None:
        with self.state.open("a") as handle:
            handle.write(f"{kind} {value}\n")

    def timed(self, name: str, started: float) -> None:
        self.report["timings"][name] = round(time.monotonic() - started, 1)

    # --- the machine's services ---------------------------------------------------------------------
    def database(self, name: str) -> str:
        database = f"{self.prefix.replace('-', '_')}_{name}"
        self.note("database", database)
        subprocess.run([*PG_ADMIN, f'CREATE DATABASE "{database}"'], check=True, capture_output=True)
        return f"postgres://postgres@127.0.0.1:5432/{database}"

    def redis_url(self) -> str:
        url = f"redis://127.0.0.1:6379/{self.redis_db}"
        redis.Redis.from_url(url).flushdb()  # the db number is this script's alone (.ci/containers)
        return url

    def start_s3(self) -> None:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(self.s3_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.note("pid", str(server.pid))
        endpoint = f"http://127.0.0.1:{self.s3_port}"
        wait_until(lambda: requests.get(endpoint, timeout=2), timeout=30, interval=0.2, ignore=PROBES)
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="ci",
            aws_secret_access_key="ci-secret",
        ).create_bucket(Bucket=BUCKET)

    def settings(self, *, database_url: str, broker_url: str, public_url: str) -> dict[str, str]:
        """The environment, as an operator would set it (README, "Configuration")."""
        return {
            "DATABASE_URL": database_url,
            "REDIS_URL": self.redis_url(),
            "CELERY_BROKER_URL": broker_url,
            "DJANGO_SECRET_KEY": self.secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PUBLIC_BASE_URL": public_url,
            "S3_BUCKET_NAME": BUCKET,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "ci",
            "AWS_SECRET_ACCESS_KEY": "ci-secret",
            "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
            "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",  # the garment server and webhook receiver are loopback
            "API_USER_RATE_LIMIT": "10000",
            "LOG_FORMAT": "json",
        }

    # --- podman ---------------------------------------------------------------------------------------
    def podman(self, *args: str, check_ok: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
        if check_ok and result.returncode != 0:
            raise RuntimeError(
                f"podman {' '.join(args[:4])} … failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def container_args(self, env_file: Path, env: dict[str, str], *, web: bool = False) -> list[str]:
        # Not root, the root filesystem read-only: only /tmp and the data dir (tmpfs, the image's user's).
        args = [
            "--network",
            "host",
            "--read-only",
            "--tmpfs",
            "/tmp:rw,mode=1777",
            "--tmpfs",
            "/var/lib/garmax:rw,U,mode=0750",
            "--env-file",
            str(env_file),
        ]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        # The image's HEALTHCHECK asks /health, which only web serves (podman would log each failure).
        return args if web else [*args, "--no-healthcheck"]

    def once(self, env_file: Path, *command: str, env: dict | None = None) -> str:
        return self.podman(
            "run", "--rm", *self.container_args(env_file, env or {}), self.image, *command
        ).stdout

    def start(self, env_file: Path, name: str, *command: str, env: dict | None = None) -> str:
        container = f"{self.prefix}-{name}"
        self.note("container", container)
        args = self.container_args(env_file, env or {}, web=not command)  # the image's command is web's
        self.podman("run", "-d", "--name", container, *args, self.image, *command)
        return container

    def wait_ready(self, port: int, timeout: float = 90) -> None:
        url = f"http://127.0.0.1:{port}/health/ready"
        wait_until(
            lambda: requests.get(url, timeout=5).ok,
            timeout=timeout,
            interval=0.3,
            ignore=PROBES,
            message=f"{url} ready",
        )

    def wait_worker(self, container: str) -> None:
        wait_until(
            lambda: (
                " ready."
                in self.podman("logs", container, check_ok=False).stderr
                + self.podman("logs", container, check_ok=False).stdout
            ),
            timeout=90,
            interval=0.5,
            message=f"{container} ready",
        )

    def assert_confined(self, container: str) -> dict:
        """Runs as uid 10001, cannot write its root filesystem, can write the data dir and /tmp."""
        uid = self.podman("exec", container, "id", "-u").stdout.strip()
        check(uid == "10001", f"{container} runs as uid {uid}")
        root = self.podman("exec", container, "touch", "/app/written", check_ok=False)
        check(root.returncode != 0 and "Read-only file system" in root.stderr, f"root fs writable: {root}")
        self.podman("exec", container, "touch", "/var/lib/garmax/written", "/tmp/written")
        return {"uid": int(uid), "root_filesystem": "read-only"}

    def staff_user(self, run_manage) -> Operator:
        run_manage("createsuperuser", "--noinput", "--username", STAFF, "--email", "ops@example.com")
        run_manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import Group, User; "
            f"User.objects.get(username={STAFF!r}).groups.add(*Group.objects.filter("
            "name__in=['billing', 'support']))",
        )
        return lambda api: Operator.login(api, STAFF, self.staff_password)


def containers_phase(run: Run, garments: GarmentServer, receiver: WebhookReceiver) -> dict:
    report: dict = {}
    vhost = f"{run.prefix.replace('-', '_')}"
    run.note("vhost", vhost)
    broker_url = rabbitmq.vhost_create(vhost)
    port_a, port_b = free_port(), free_port()
    env_file = run.workdir / "containers.env"
    env_file.write_text(
        "".join(
            f"{k}={v}\n"
            for k, v in run.settings(
                database_url=run.database("containers"),
                broker_url=broker_url,
                public_url=f"http://127.0.0.1:{port_a}",
            ).items()
        )
    )
    env_file.chmod(0o600)

    started = time.monotonic()
    run.once(env_file, "python", "manage.py", "migrate", "--noinput")
    run.timed("containers: migrate", started)
    check(
        "rendered"
        in run.once(env_file, "python", "manage.py", "renderer_check", "--output", "/tmp/check.jpg"),
        "renderer_check renders the sample pair",
    )
    operator_for = run.staff_user(
        lambda *args: run.once(
            env_file, "python", "manage.py", *args, env={"DJANGO_SUPERUSER_PASSWORD": run.staff_password}
        )
    )

    started = time.monotonic()

    def web(name: str, port: int) -> str:
        return run.start(
            env_file,
            name,
            env={"PORT": str(port), "WEB_CONCURRENCY": "2", "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}"},
        )

    web(f"web-{port_a}", port_a)
    web(f"web-{port_b}", port_b)

    def start_worker(number: int) -> str:
        command = [
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "-c",
            "2",
            "-n",
            f"ci{number}@%h",
        ]
        return run.start(env_file, f"worker-{number}", *command)

    worker = start_worker(1)
    run.start(env_file, "beat", "celery", "-A", "config", "beat", "--loglevel", "INFO")
    run.wait_ready(port_a)
    run.wait_ready(port_b)
    run.wait_worker(worker)
    run.timed("containers: web x2, worker, beat ready", started)
    report["confinement"] = run.assert_confined(f"{run.prefix}-web-{port_a}")
    health = run.podman("healthcheck", "run", f"{run.prefix}-web-{port_a}", check_ok=False)
    check(health.returncode == 0, f"the image's HEALTHCHECK passes on web: {health.stdout} {health.stderr}")

    api = f"http://127.0.0.1:{port_a}/api"
    operator = operator_for(api)
    journey = partner_journey(api, operator, garments, receiver, label="containers")
    other = journey["partner"].session.get(
        f"http://127.0.0.1:{port_b}/api/v1/cart-tryons/{journey['session']}", timeout=30
    )
    check(
        other.status_code == 200 and other.json()["status"] == "completed", "the other web container agrees"
    )
    report["journey"] = {k: journey[k] for k in ("seconds", "results")}

    report["worker_killed_mid_cart"] = cart_outlives_worker(
        api,
        operator,
        garments,
        receiver,
        kill_worker=lambda: run.podman("kill", "--signal", "KILL", worker),
        start_worker=lambda: run.wait_worker(start_worker(2)),
        deadline=45,  # RabbitMQ redelivers at once; the new run takes over after one missed heartbeat
    )

    # One web container replaced under traffic: out of the rotation, stopped (gunicorn finishes what it has),
    # a new one started on its port, back in the rotation once /health/ready answers.
    reader = operator.create_api_key(journey["partner"].organization_id, rate_limit=10000)["key"]
    path = f"/api/v1/cart-tryons/{journey['session']}"

    def poll(session: requests.Session, port: int) -> requests.Response:
        time.sleep(0.05)  # ~4 threads x 20/s: under the key's 10,000 a minute
        return session.get(f"http://127.0.0.1:{port}{path}", headers={"X-API-Key": reader}, timeout=30)

    # A new key's first check runs bcrypt once for every process (others asking meanwhile get a 429 with
    # Retry-After: apikeys/guard.py): a client's first call, before the traffic.
    check(poll(requests.Session(), port_b).status_code == 200, "the reader key works")
    started = time.monotonic()
    with Traffic([port_a, port_b], poll) as traffic:
        time.sleep(3)
        traffic.drain(port_a)
        run.podman("stop", "-t", "30", f"{run.prefix}-web-{port_a}")
        run.podman("rm", f"{run.prefix}-web-{port_a}")
        web(f"web-{port_a}-new", port_a)
        run.wait_ready(port_a)
        served_before = traffic.served[port_a]
        traffic.restore(port_a)
        time.sleep(5)
    run.timed("containers: web replaced under traffic", started)
    check(traffic.total > 100, f"traffic ran: {traffic.total} requests")
    check(traffic.served[port_a] > served_before, "the new web container took traffic")
    check(not traffic.failures, f"no failed request during the replacement: {traffic.failures[:5]}")
    report["rolling_web_replacement"] = {"requests": traffic.total, "failed": len(traffic.failures)}
    return report


def kube_phase(run: Run, garments: GarmentServer, receiver: WebhookReceiver) -> dict:
    port = free_port()
    redis_url = f"redis://127.0.0.1:6379/{run.redis_db}"
    settings = run.settings(
        database_url=run.database("kube"), broker_url=redis_url, public_url=f"http://127.0.0.1:{port}"
    )
    overrides = {
        key: settings.pop(key)
        for key in (
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "REDIS_URL",
            "DJANGO_SECRET_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "S3_BUCKET_NAME",
            "AWS_REGION",
            "DJANGO_ALLOWED_HOSTS",
            "PUBLIC_BASE_URL",
            "LOG_FORMAT",
        )
    }
    # No TLS-terminating Ingress here: plain http, no https redirect or HSTS; the client is the client.
    overrides.update(
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        TRUSTED_PROXIES="",
        DJANGO_CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{port}",
    )
    played = kube_play.variant(
        kube_play.manifests(),
        image=run.image,
        prefix=run.prefix,
        web_port=port,
        overrides=overrides,
        additions=settings,
    )
    files = kube_play.write(played, run.workdir / "kube")
    for group in ("migrate", "app"):
        run.note("kube", str(files[group]))
    for document in played["app"] + played["migrate"]:
        for volume in document.get("spec", {}).get("template", document).get("spec", {}).get("volumes", []):
            run.note("volume", volume["name"])

    started = time.monotonic()
    run.podman("kube", "play", str(files["migrate"]))
    (migrate,) = played["migrate"]
    container = f"{migrate['metadata']['name']}-{migrate['spec']['containers'][0]['name']}"
    exit_code = run.podman("wait", container, timeout=600).stdout.strip()
    check(
        exit_code == "0", f"the migrate Job's pod exited {exit_code}: {run.podman('logs', container).stderr}"
    )
    run.podman("kube", "down", str(files["migrate"]))
    run.timed("kube: migrate Job", started)

    started = time.monotonic()
    run.podman("kube", "play", str(files["app"]))
    names = run.podman("ps", "--format", "{{.Names}}").stdout.split()
    ours = {name for name in names if name.startswith(run.prefix)}
    web = sorted(name for name in ours if "-garmax-web-pod-" in name)
    workers = sorted(name for name in ours if "-garmax-worker-pod-" in name)
    beats = [name for name in ours if "-garmax-beat-pod-" in name]
    check(len(web) == 2 and len(workers) == 2 and len(beats) == 1, f"replicas played: {sorted(ours)}")
    run.wait_ready(port)
    for worker in workers:
        run.wait_worker(worker)
    run.timed("kube: Deployments ready", started)
    confinement = run.assert_confined(web[0])

    def manage(*args: str) -> str:
        return run.podman(
            "exec",
            "-e",
            f"DJANGO_SUPERUSER_PASSWORD={run.staff_password}",
            web[0],
            "python",
            "manage.py",
            *args,
        ).stdout

    api = f"http://127.0.0.1:{port}/api"
    journey = partner_journey(api, run.staff_user(manage)(api), garments, receiver, label="kube")
    return {
        "pods": sorted(ours),
        "confinement": confinement,
        "journey": {k: journey[k] for k in ("seconds", "results")},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--state-file", required=True)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    run = Run(args)
    garments, receiver = GarmentServer(), WebhookReceiver()
    try:
        run.start_s3()
        started = time.monotonic()
        run.report["containers"] = containers_phase(run, garments, receiver)
        run.timed("containers: total", started)
        # The containers go before the manifests are played: .ci/containers removes what the state names.
        for line in run.state.read_text().splitlines():
            kind, value = line.split(" ", 1)
            if kind == "container":
                run.podman("rm", "-f", "-t", "10", value, check_ok=False)
        started = time.monotonic()
        run.report["kube_play"] = kube_phase(run, garments, receiver)
        run.timed("kube: total", started)
    finally:
        garments.close()
        receiver.stop()
        Path(args.report).write_text(json.dumps(run.report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
