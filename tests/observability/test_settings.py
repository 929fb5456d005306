"""The observability settings fail loudly at start-up on a value that would give wrong or unsafe figures."""

import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import observability_settings

VARIABLES = [
    "METRICS_TOKEN",
    "METRICS_PORT",
    "PROMETHEUS_MULTIPROC_DIR",
    "SENTRY_TRACES_SAMPLE_RATE",
    "DATABASE_URL",
]


@pytest.fixture
def read(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def reload(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(observability_settings)

    yield reload
    monkeypatch.undo()
    importlib.reload(observability_settings)


def test_metrics_are_off_by_default(read):
    loaded = read()
    assert loaded.METRICS_TOKEN == "" and loaded.METRICS_PORT == 0 and loaded.SENTRY_DSN == ""


def test_a_short_metrics_token_is_refused(read):
    with pytest.raises(ImproperlyConfigured, match="METRICS_TOKEN must be at least 16"):
        read(METRICS_TOKEN="short")


@pytest.mark.parametrize(
    "variable", [("METRICS_TOKEN", "a-long-enough-metrics-token"), ("METRICS_PORT", "9100")]
)
def test_production_metrics_need_the_multiprocess_directory(read, variable):
    # gunicorn's workers and Celery's pool children would each count alone: every scrape a different figure.
    name, value = variable
    with pytest.raises(ImproperlyConfigured, match="PROMETHEUS_MULTIPROC_DIR"):
        read(**{name: value, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"})


def test_the_multiprocess_directory_must_exist(read, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="is not a directory"):
        read(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "missing"))
    loaded = read(
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        METRICS_TOKEN="a-long-enough-metrics-token",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
    )
    directory = loaded.METRICS_MULTIPROCESS_DIR
    assert directory == str(tmp_path)


def test_a_metrics_port_out_of_range_is_refused(read):
    with pytest.raises(ImproperlyConfigured, match="METRICS_PORT"):
        read(METRICS_PORT="70000")


def test_the_sentry_sample_rate_is_a_fraction(read):
    with pytest.raises(ImproperlyConfigured, match="SENTRY_TRACES_SAMPLE_RATE"):
        read(SENTRY_TRACES_SAMPLE_RATE="2")
