"""The Dockerfile as the deployment contract (README, "Deploying"): read as instructions, per stage. That it
builds and runs is .ci/containers' job (podman, here)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.startswith("#")))
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in (raw.strip() for raw in joined.splitlines())
        if line
    ]


def stages(text: str) -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    """The instructions before the first FROM, and each stage's (keyed by its name), in order."""
    preamble, named, current = [], {}, None
    for instruction, arguments in instructions(text):
        if instruction == "FROM":
            current = named.setdefault(arguments.split()[-1], [])
            current.append((instruction, arguments))
        else:
            (preamble if current is None else current).append((instruction, arguments))
    return preamble, named


DOCKERFILE = (ROOT / "Dockerfile").read_text()
PREAMBLE, STAGES = stages(DOCKERFILE)
FINAL = list(STAGES.values())[-1]


def arguments_of(stage, instruction: str) -> list[str]:
    return [arguments for name, arguments in stage if name == instruction]


def test_the_base_image_is_a_build_argument_defaulting_to_python_slim_bookworm():
    assert ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm") in PREAMBLE
    first = list(STAGES.values())[0]
    assert first[0] == ("FROM", "${BASE_IMAGE} AS python")


def test_it_is_multi_stage_and_the_final_stage_only_copies_what_the_build_made():
    assert list(STAGES) == ["python", "build", "runtime"]
    assert FINAL[0] == (
        "FROM",
        "python AS runtime",
    )  # the same Python as the build stage: the venv's links hold
    copies = arguments_of(FINAL, "COPY")
    assert copies == ["--from=build /opt/venv /opt/venv", "--from=build /app /app"]
    runs = " ".join(arguments_of(FINAL, "RUN"))
    for tool in ("pip", "apt-get", "gcc", "build-essential", "make"):
        assert tool not in runs, f"the final stage runs {tool}"
    # pip leaves the virtualenv in the build stage, after the installs.
    assert "pip uninstall -y pip" in " ".join(arguments_of(STAGES["build"], "RUN"))


def test_the_project_is_installed_from_pyproject_with_its_production_extras():
    build = " ".join(arguments_of(STAGES["build"], "RUN"))
    assert "pip install --no-compile '.[production]'" in build
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "production" in pyproject["project"]["optional-dependencies"]
    assert "collectstatic --noinput" in build


def test_the_final_stage_runs_as_a_numeric_non_root_user():
    (user,) = arguments_of(FINAL, "USER")
    uid, gid = user.split(":")
    assert int(uid) >= 1000 and int(gid) >= 1000
    assert f"--uid {uid}" in " ".join(arguments_of(FINAL, "RUN"))  # the user exists in /etc/passwd


def test_health_check_data_volume_and_default_command():
    (healthcheck,) = arguments_of(FINAL, "HEALTHCHECK")
    assert "/health'" in healthcheck and "urllib.request" in healthcheck  # no curl in the image
    assert arguments_of(FINAL, "VOLUME") == ['["/var/lib/garmax"]']
    env = " ".join(arguments_of(FINAL, "ENV"))
    assert "GARMAX_DATA_DIR=/var/lib/garmax" in env and "DJANGO_SETTINGS_MODULE=config.settings" in env
    # The README's production command; gunicorn binds $PORT with $WEB_CONCURRENCY workers.
    assert arguments_of(FINAL, "CMD") == ['["gunicorn", "config.wsgi"]']
    assert "PORT=8000" in env and "WEB_CONCURRENCY=" in env


def test_the_build_context_leaves_out_local_state_and_the_tests():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "tests", "**/__pycache__"} <= ignored
