"""compose.yaml against the Compose Specification's JSON schema, offline: the copy check-jsonschema vendors
(its `vendor.compose-spec` builtin, from github.com/compose-spec/compose-spec, Apache-2.0), then what the
README promises of it. The database, broker and MinIO images cannot be pulled here; .ci/containers runs
the app's own services from the image."""

import copy
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
APP_SERVICES = ("migrate", "web", "worker", "beat")
# gunicorn's own variables, not the app's settings.
GUNICORN_VARIABLES = {"WEB_CONCURRENCY", "PORT", "GUNICORN_CMD_ARGS"}


def compose_schema() -> dict:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(vendored.read_text())


def schema_errors(document: dict) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_compose_file_is_valid_against_the_compose_specification():
    assert schema_errors(COMPOSE) == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda doc: doc["services"]["web"]["deploy"].update(replicas=[2]),
        lambda doc: doc["services"]["web"]["depends_on"]["migrate"].update(condition="after_migrate"),
        lambda doc: doc["services"]["postgres"].update(helthcheck={}),
    ],
    ids=["replicas-a-list", "unknown-depends-on-condition", "misspelt-key"],
)
def test_the_schema_catches_a_broken_file(break_it):
    broken = copy.deepcopy(COMPOSE)
    break_it(broken)
    assert schema_errors(broken)


def test_two_web_replicas_start_after_migrate_has_completed():
    services = COMPOSE["services"]
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["web"]["command"] == ["gunicorn", "config.wsgi"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert "replicas" not in services["beat"].get("deploy", {})  # exactly one


def test_the_backing_services_have_health_checks_the_app_waits_for():
    services = COMPOSE["services"]
    for name in ("postgres", "redis", "rabbitmq", "minio"):
        assert services[name]["healthcheck"]["test"], name
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert {depends_on[backing]["condition"] for backing in ("postgres", "redis", "rabbitmq")} == {
            "service_healthy"
        }


def test_app_services_run_read_only_and_are_configured_by_documented_settings():
    readme = (ROOT / "README.md").read_text()
    configuration = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    services = COMPOSE["services"]
    for name in (*APP_SERVICES, "embedded"):
        service = services[name]
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name
        assert service["environment"], name
        undocumented = [
            variable
            for variable in service["environment"]
            if variable not in GUNICORN_VARIABLES and f"`{variable}`" not in configuration
        ]
        assert undocumented == [], f"{name} sets variables the README does not document: {undocumented}"


def test_media_go_to_the_s3_compatible_store_through_the_settings_it_reads():
    environment = COMPOSE["services"]["web"]["environment"]
    assert environment["S3_BUCKET_NAME"] == "garmax-media"
    assert environment["AWS_S3_ENDPOINT_URL"].endswith(":9000")
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= set(environment)
    bucket = COMPOSE["services"]["minio-bucket"]["command"][0]
    assert re.search(r"mc mb --ignore-existing local/garmax-media\b", bucket)


def test_the_embedded_mode_is_a_profile_of_its_own():
    embedded = COMPOSE["services"]["embedded"]
    assert embedded["profiles"] == ["embedded"]
    assert embedded["command"][:3] == ["python", "manage.py", "rundemo"]
    assert not {"DATABASE_URL", "REDIS_URL", "S3_BUCKET_NAME"} & set(embedded["environment"])
    assert len(COMPOSE["services"]) > 1
    for name, service in COMPOSE["services"].items():
        assert name == "embedded" or "profiles" not in service, f"{name} would not start with `up`"
