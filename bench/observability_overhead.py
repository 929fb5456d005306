"""Benchmark: what metrics and JSON logs cost a partner read (issue 17: at most 5 %).

Two variants of the real `GET /api/v1/customers/{externalId}` (bench/apikeys_auth.py's set-up: key, scope,
rate limit, usage), each served by its own gunicorn (2 sync workers) on the same PostgreSQL + Redis:
- off: without the request metrics middleware, LOG_FORMAT=text (no line per request): as before issue 17;
- on: as production runs with observability on: the middleware counting and timing every request in
  prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, mmap'd files shared by the workers), and
  LOG_FORMAT=json writing one JSON line per request to a file.
wrk drives them in interleaved rounds (the order alternating), and three figures come out:

1. web CPU per read (the figure with the target): the CPU time the gunicorn workers spent (from
   /proc/<pid>/stat) divided by the requests wrk completed. A web node is CPU-bound, so its throughput is
   inversely proportional to this, and it moves with other load far less than req/s; other load only ever
   adds to it (cache misses, migrations between cores), so the least disturbed round of each variant, its
   minimum, is compared: off/on is the throughput kept.
2. req/s over HTTP (printed, no target): with the machine's load average several times its 2 cores (eight
   engineers share it) rounds swing by ±30 %.
3. CPU per read in-process (printed, no target): a child calls the WSGI application directly (JSON lines to
   its stderr, a file), fastest rounds. It leaves gunicorn's HTTP work out of the base, so it overstates the
   share a little: an upper bound.

    .venv/bin/python bench/observability_overhead.py [--rounds 6] [--duration 4] [--connections 16]
        [--cpu-rounds 25] [--cpu-requests 200]
"""

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.apikeys_auth import _free_port, _wait_ready, _wrk, environment, prepare  # noqa: E402

METRICS_TOKEN = "bench-metrics-token-0123456789"


def _start(port: int, *, observability: bool, workdir: Path) -> tuple[subprocess.Popen, Path]:
    env = environment()
    env["DJANGO_SETTINGS_MODULE"] = "bench.observability_settings"
    log = workdir / f"{'on' if observability else 'off'}.log"
    if observability:
        metrics_dir = workdir / "metrics"
        metrics_dir.mkdir()
        env.update(
            BENCH_OBSERVABILITY="on",
            LOG_FORMAT="json",
            METRICS_TOKEN=METRICS_TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        )
    else:
        env.update(BENCH_OBSERVABILITY="off", LOG_FORMAT="text")
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                gunicorn,
                "config.wsgi:application",
                "--workers=2",
                "--worker-class=sync",
                f"--bind=127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log


_TICKS = os.sysconf("SC_CLK_TCK")


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        # Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def _scraped_reads(base: str, route: str) -> float:
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    request = urllib.request.Request(f"{base}/metrics", headers=headers)  # noqa: S310 - our loopback server
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own loopback server
        text = response.read().decode()
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "garmax_http_requests_total" and sample.labels.get("route") == route
    )


def _environ(path: str, key: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": "*/*",
        "HTTP_X_API_KEY": key,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def cpu_child(setup: dict, rounds: int, requests: int, log_path: str) -> None:
    """In the child: interleaved rounds of in-process calls with and without observability; prints JSON."""
    # JSON lines go where a container runtime would collect them: the process's stderr, here a file.
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log, 2)
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    from config.logging_settings import logging_settings
    from infrastructure.logging import configure

    handlers = {"on": WSGIHandler()}
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if ".observability." not in m]
    handlers["off"] = WSGIHandler()
    logging = {
        "on": logging_settings(level="WARNING", json_lines=True),
        "off": logging_settings(level="WARNING", json_lines=False),
    }
    environ = _environ(f"/api/v1/customers/{setup['external_id']}", setup["raw_key"])
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def run(name: str, count: int) -> float:
        configure(logging[name])
        application = handlers[name]
        started = time.process_time()
        for _ in range(count):
            response = application(dict(environ), start_response)
            b"".join(response)
            response.close()
        spent = time.process_time() - started
        if any(not status.startswith("200") for status in statuses):
            raise SystemExit(f"the partner read answered {sorted(set(statuses))}")
        statuses.clear()
        return spent / count * 1e6

    for name in handlers:
        run(name, 300)  # warm-up: connections, caches, the key's verification, metric children
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    for round_number in range(rounds):
        for name in ("off", "on") if round_number % 2 == 0 else ("on", "off"):
            cpu[name].append(run(name, requests))
    print(json.dumps(cpu))


def _cpu_measurement(setup, rounds: int, requests: int, workdir: Path) -> tuple[dict, int]:
    metrics_dir = workdir / "cpu-metrics"
    metrics_dir.mkdir()
    log_path = workdir / "cpu.log"
    env = environment()
    env.update(
        DJANGO_SETTINGS_MODULE="bench.observability_settings",
        BENCH_OBSERVABILITY="on",
        METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),  # before prometheus-client is imported: the child's env
    )
    payload = json.dumps({"external_id": setup.external_id, "raw_key": setup.raw_key})
    result = subprocess.run(
        [sys.executable, __file__, "--cpu-child", payload, str(rounds), str(requests), str(log_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the in-process measurement failed:\n{result.stdout}\n{result.stderr}")
    lines = sum(1 for line in log_path.read_text().splitlines() if '"logger": "garmax.access"' in line)
    return json.loads(result.stdout.strip().splitlines()[-1]), lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--cpu-child":
        _, _, payload, rounds, requests, log_path = sys.argv
        cpu_child(json.loads(payload), int(rounds), int(requests), log_path)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--pin-wrk", metavar="CPU")
    parser.add_argument("--cpu-rounds", type=int, default=40)
    parser.add_argument("--cpu-requests", type=int, default=150)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (apt-get install -y wrk)")

    setup = prepare()
    path = f"/api/v1/customers/{setup.external_id}"
    workdir = Path(tempfile.mkdtemp(prefix="bench-observability-"))
    cpu, cpu_lines = _cpu_measurement(setup, args.cpu_rounds, args.cpu_requests, workdir)
    servers, bases, logs = {}, {}, {}
    try:
        for name, on in (("off", False), ("on", True)):
            port = _free_port()
            servers[name], logs[name] = _start(port, observability=on, workdir=workdir)
            bases[name] = f"http://127.0.0.1:{port}"
        for name in servers:
            _wait_ready(f"{bases[name]}/health")
        workers = {name: _worker_pids(process.pid) for name, process in servers.items()}
        samples: dict[str, list[dict]] = {"off": [], "on": []}
        for round_number in range(args.rounds):
            order = ["off", "on"] if round_number % 2 == 0 else ["on", "off"]
            for name in order:
                url = bases[name] + path
                _wrk(url, setup.raw_key, args.warmup, args.connections, args.pin_wrk)
                cpu_before = _cpu_seconds(workers[name])
                sample = _wrk(url, setup.raw_key, args.duration, args.connections, args.pin_wrk)
                served = sample["rps"] * args.duration
                sample["cpu_us"] = (_cpu_seconds(workers[name]) - cpu_before) / served * 1e6
                samples[name].append(sample)
        counted = _scraped_reads(bases["on"], "/api/v1/customers/{externalId}")
    finally:
        for process in servers.values():
            process.terminate()
            process.wait(timeout=15)
    time.sleep(0.2)
    json_lines = sum(1 for line in logs["on"].read_text().splitlines() if '"logger": "garmax.access"' in line)
    text_lines = sum(1 for line in logs["off"].read_text().splitlines() if "garmax.access" in line)
    shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"\ngunicorn 2 sync workers each, PostgreSQL + Redis, wrk 1 thread {args.connections} connections; "
        f"{args.rounds} interleaved rounds of {args.duration:g} s per variant; medians"
    )
    print(f"{'variant':44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs':>7}   req/s per round")
    print(f"{'':44} {'':>9} {'':>8} {'':>8} {'(median)':>7}")
    labels = {
        "off": "off: no request metrics, text logs",
        "on": "on: metrics (multiprocess) + JSON line/request",
    }
    for name, runs in samples.items():
        rps = statistics.median(s["rps"] for s in runs)
        p50 = statistics.median(s["p50"] for s in runs)
        p99 = statistics.median(s["p99"] for s in runs)
        cpu_us = statistics.median(s["cpu_us"] for s in runs)
        per_round = " ".join(f"{s['rps']:.0f}" for s in runs)
        print(f"{labels[name]:44} {rps:9.0f} {p50:8.2f} {p99:8.2f} {cpu_us:7.0f}   {per_round}")
    ratio = statistics.median(
        on["rps"] / off["rps"] for on, off in zip(samples["on"], samples["off"], strict=True)
    )
    print(f"\nrequests the 'on' server counted in garmax_http_requests_total: {counted:.0f}")
    print(f"JSON access lines it wrote: {json_lines}; access lines the 'off' server wrote: {text_lines}")
    if counted == 0 or json_lines == 0:
        raise SystemExit("the 'on' server neither counted nor logged the reads: nothing was measured")
    print(f"HTTP req/s on / off = {ratio:.3f}: median over rounds of the ratio within each round (no target)")
    least = {name: min(s["cpu_us"] for s in runs) for name, runs in samples.items()}
    web_kept = least["off"] / least["on"]
    for name, runs in samples.items():
        print(f"web CPU µs per read, {name}, per round: " + " ".join(f"{s['cpu_us']:.0f}" for s in runs))
    print(
        f"observability costs the web workers {least['on'] - least['off']:.0f} µs of CPU per partner read "
        f"(least disturbed rounds: {least['off']:.0f} off, {least['on']:.0f} on)"
    )
    print(f"web throughput kept = {web_kept:.3f} (target >= 0.95)")

    print(f"\nin-process CPU per partner read, {args.cpu_rounds} interleaved rounds of {args.cpu_requests}")
    print(f"{'variant':44} {'CPU µs/req min':>15} {'median':>7}")
    for name in ("off", "on"):
        print(f"{labels[name]:44} {min(cpu[name]):15.0f} {statistics.median(cpu[name]):7.0f}")
    print(f"JSON access lines the in-process 'on' rounds wrote: {cpu_lines}")
    if cpu_lines < args.cpu_rounds // 2 * args.cpu_requests:
        raise SystemExit("the in-process 'on' rounds did not log a line per request: nothing was measured")
    extra = min(cpu["on"]) - min(cpu["off"])
    print(f"observability costs {extra:.0f} µs of CPU per partner read (fastest rounds)")
    kept = min(cpu["off"]) / min(cpu["on"])
    print(f"in-process CPU off / on: {kept:.3f} (an upper bound of the cost; no target)")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
