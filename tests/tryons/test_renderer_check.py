"""`manage.py renderer_check`: the operator's smoke test of an engine, here against each fake provider."""

import io

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.tryons.engine_fixtures import start_fake

pytestmark = pytest.mark.usefixtures("allow_private")


@pytest.mark.parametrize("name", ["fashn", "fal", "replicate"])
def test_renderer_check_renders_the_sample_pair_and_prints_timings(name, monkeypatch, settings, tmp_path):
    fake = start_fake(name, monkeypatch, settings)
    settings.TRYON_RENDERER = "local"  # --engine wins over the configured renderer
    out, target = io.StringIO(), tmp_path / "check.jpg"

    call_command("renderer_check", engine=name, output=str(target), stdout=out)

    text = out.getvalue()
    for line in ("engine", "submit", "queued", "rendering", "download", "total"):
        assert f"\n{line}" in "\n" + text
    assert Image.open(target).size == (576, 864)
    (job,) = fake.jobs.values()
    assert job.id in text
    fake.close()


def test_renderer_check_fails_loudly_with_the_providers_message(monkeypatch, settings, tmp_path):
    fake = start_fake("replicate", monkeypatch, settings)
    fake.fail_jobs = True
    with pytest.raises(CommandError, match="CUDA out of memory"):
        call_command("renderer_check", engine="replicate", output=str(tmp_path / "x"), stdout=io.StringIO())
    fake.close()


def test_renderer_check_runs_the_local_renderer_too(tmp_path, settings):
    settings.TRYON_RENDERER = "local"
    out = io.StringIO()
    call_command("renderer_check", output=str(tmp_path / "local.jpg"), quality="hd", stdout=out)
    assert Image.open(tmp_path / "local.jpg").size == (768, 1024)
    assert "local: rendered" in out.getvalue()


@pytest.mark.parametrize(
    ("name", "licence", "retention"),
    [
        ("fashn", "commercial", "FASHN: base64 outputs 60 minutes (ours), CDN outputs 72 h"),
        (
            "fal",
            "commercial",
            "fal: CDN files (the output) 3600 s (FAL_OBJECT_EXPIRATION_SECONDS)",
        ),  # the fake serves Leffa, the default
        (
            "replicate",
            "non-commercial",
            "Replicate: predictions removed an hour after they finish; no delete API",
        ),
    ],
)
def test_renderer_check_prints_the_models_licence_and_what_the_provider_keeps(
    name, licence, retention, monkeypatch, settings, tmp_path
):
    fake = start_fake(name, monkeypatch, settings)
    out = io.StringIO()

    call_command("renderer_check", engine=name, output=str(tmp_path / "check.jpg"), stdout=out)

    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("licence")] == [f"licence     {licence}"]
    (kept,) = [line for line in lines if line.startswith("retention")]
    assert kept.startswith(f"retention   {retention}")
    fake.close()


def test_renderer_check_says_when_a_models_licence_is_not_declared(monkeypatch, settings, tmp_path):
    fake = start_fake("replicate", monkeypatch, settings, REPLICATE_MODEL="deployments/acme/idm-vton")
    out = io.StringIO()
    call_command("renderer_check", engine="replicate", output=str(tmp_path / "check.jpg"), stdout=out)
    assert "licence     not declared: check its terms" in out.getvalue()
    fake.close()
