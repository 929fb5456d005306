"""`python -m bench` (or `make bench`): run every benchmark in bench/ and print one table of its figures.

A benchmark is a script in bench/ with an `if __name__ == "__main__":` block (helper modules such as
settings or urlconfs have none and are skipped). Each one runs in its own process against a fresh
PostgreSQL database (created here and dropped afterwards) and a private Redis started here, passed as
DATABASE_URL / REDIS_URL and BENCH_DATABASE_URL / BENCH_REDIS_URL. Its output is shown as it is; every
line of the form

    <figure> = <value>[ unit] (target <op> <bound>[ unit])      (":" works in place of "=")

becomes a row of the final table, judged against its target and compared with the baseline recorded in
bench/baselines.json (`--save-baselines` writes the current figures there).

    python -m bench [NAME ...] [--save-baselines] [--timeout SECONDS]

Exit status 1 if a benchmark fails or a figure misses its target.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
BASELINES = BENCH_DIR / "baselines.json"
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")

FIGURE = re.compile(
    r"^\s*(?P<name>[^=:()\n]+?)\s*[=:]\s*(?P<value>-?\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z%/µ]*)\s*"
    r"\(target\s*(?P<op>>=|<=|==|=|<|>)\s*(?P<bound>-?\d+(?:\.\d+)?)\s*[a-zA-Z%/µ]*\)",
    re.M,
)
OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "=": operator.eq,
}


@dataclass
class Figure:
    benchmark: str
    name: str
    value: float
    unit: str
    op: str
    bound: float

    @property
    def met(self) -> bool:
        return OPERATORS[self.op](self.value, self.bound)


def parse_figures(benchmark: str, output: str) -> list[Figure]:
    return [
        Figure(
            benchmark,
            match["name"].strip(),
            float(match["value"]),
            match["unit"],
            match["op"],
            float(match["bound"]),
        )
        for match in FIGURE.finditer(output)
    ]


def discover(names: list[str]) -> list[Path]:
    scripts = sorted(
        path
        for path in BENCH_DIR.glob("*.py")
        if not path.name.startswith("_") and 'if __name__ == "__main__"' in path.read_text()
    )
    if names:
        wanted = {name.removesuffix(".py") for name in names}
        unknown = wanted - {path.stem for path in scripts}
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        scripts = [path for path in scripts if path.stem in wanted]
    return scripts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", f"{PG_SERVER}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
        timeout=120,
    )


class PrivateRedis:
    """A throw-away redis-server, so benchmarks never flush a Redis db someone else is using."""

    def __init__(self):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit("redis-server did not start")

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_benchmark(script: Path, redis: PrivateRedis, timeout: int) -> tuple[int, str, float]:
    database = f"garmax_bench_{script.stem}_{secrets.token_hex(3)}"
    _psql(f'CREATE DATABASE "{database}"')
    env = dict(os.environ)
    database_url = f"{PG_SERVER}/{database}"
    env.update(
        DATABASE_URL=database_url,
        BENCH_DATABASE_URL=database_url,
        REDIS_URL=redis.url(),
        BENCH_REDIS_URL=redis.url(),
        DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(48),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    started = time.monotonic()
    lines: list[str] = []
    try:
        process = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            for line in process.stdout:
                print(f"  | {line}", end="", flush=True)
                lines.append(line)
                if time.monotonic() - started > timeout:
                    process.kill()
                    lines.append(f"killed after {timeout} s\n")
                    break
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        subprocess.run(
            [sys.executable, "-c", f"import redis; redis.Redis.from_url({redis.url()!r}).flushall()"],
            check=False,
            capture_output=True,
        )
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return code, "".join(lines), time.monotonic() - started


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}, {platform.system()}"


def table(figures: list[Figure], baselines: dict) -> str:
    header = f"{'benchmark':24} {'figure':30} {'value':>10} {'target':>12} {'ok':>4} {'baseline':>10} {'vs base':>8}"  # noqa: E501
    rows = [header, "-" * len(header)]
    for figure in figures:
        baseline = baselines.get(figure.benchmark, {}).get(figure.name)
        ratio = f"{figure.value / baseline:.2f}x" if baseline else "-"
        rows.append(
            f"{figure.benchmark:24} {figure.name[:30]:30} {figure.value:>10.2f} "
            f"{figure.op + ' ' + format(figure.bound, 'g'):>12} {'yes' if figure.met else 'NO':>4} "
            f"{format(baseline, '.2f') if baseline else '-':>10} {ratio:>8}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (file names without .py); default all")
    parser.add_argument("--save-baselines", action="store_true", help="record these figures as baselines")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per benchmark")
    args = parser.parse_args(argv)

    scripts = discover(args.names)
    baselines = json.loads(BASELINES.read_text()) if BASELINES.exists() else {}
    print(f"machine: {machine()}")
    redis = PrivateRedis()
    figures: list[Figure] = []
    failures: list[str] = []
    try:
        for script in scripts:
            print(f"\n=== {script.stem}")
            code, output, elapsed = run_benchmark(script, redis, args.timeout)
            found = parse_figures(script.stem, output)
            figures.extend(found)
            print(f"=== {script.stem}: exit {code} in {elapsed:.0f} s, {len(found)} figure(s) with a target")
            if code != 0:
                failures.append(f"{script.stem} exited {code}")
    finally:
        redis.stop()

    print(f"\nmachine: {machine()}\n")
    print(table(figures, baselines))
    missed = [
        f"{f.benchmark}: {f.name} = {f.value:g} (target {f.op} {f.bound:g})" for f in figures if not f.met
    ]
    silent = [s.stem for s in scripts if not any(f.benchmark == s.stem for f in figures)]
    if silent:
        print(f"\nno '(target ...)' figure printed by: {', '.join(silent)} (see their output above)")
    if args.save_baselines:
        for figure in figures:
            baselines.setdefault(figure.benchmark, {})[figure.name] = figure.value
        BASELINES.write_text(json.dumps(baselines, indent=2, sort_keys=True) + "\n")
        print(f"baselines written to {BASELINES.relative_to(ROOT)}")
    for problem in failures + [f"target missed: {m}" for m in missed]:
        print(f"FAIL {problem}")
    return 1 if failures or missed else 0


if __name__ == "__main__":
    sys.exit(main())
