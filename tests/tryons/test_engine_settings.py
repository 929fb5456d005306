"""Engine settings fail loudly, naming the variable; selection is per quality, with the fallback behind the
circuit breaker."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from tryons.engines.selection import renderer_for
from tryons.engines.settings import engine_settings
from tryons.models import EngineCircuit


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TRYON_RENDERER_HD": "dall-e"}, "TRYON_RENDERER_HD"),
        ({"TRYON_FALLBACK_RENDERER": "nope"}, "TRYON_FALLBACK_RENDERER"),
        ({"TRYON_RENDERER_4K": "fashn"}, "FASHN_API_KEY"),
        ({"TRYON_RENDERER_SD": "fal", "FAL_KEY": "k", "FAL_MODEL": "fal-ai/flux"}, "FAL_MODEL"),
        ({"TRYON_RENDERER_SD": "replicate", "REPLICATE_API_TOKEN": "r"}, "REPLICATE_MODEL"),
        ({"TRYON_ENGINE_INPUTS": "public-url"}, "TRYON_ENGINE_INPUTS"),
        ({"TRYON_ENGINE_MAX_IN_FLIGHT": "0"}, "TRYON_ENGINE_MAX_IN_FLIGHT"),
        ({"TRYON_RENDER_TIMEOUT_SECONDS": "ten"}, "TRYON_RENDER_TIMEOUT_SECONDS"),
    ],
)
def test_a_malformed_engine_setting_fails_naming_the_variable(env, named, monkeypatch):
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(ImproperlyConfigured, match=named):
        engine_settings()


def _item(quality):
    return SimpleNamespace(render_quality=quality, organization_id=None)  # no test-mode routing


def test_each_quality_can_have_its_own_engine_and_the_rest_follow_tryon_renderer(monkeypatch, settings, db):
    settings.TRYON_RENDERER = "local"
    monkeypatch.setenv("TRYON_RENDERER_HD", "fashn")
    monkeypatch.setenv("TRYON_RENDERER_4K", "replicate")
    monkeypatch.setenv("FASHN_API_KEY", "f")
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r")
    monkeypatch.setenv("REPLICATE_MODEL", "cuuupid/idm-vton")
    assert [renderer_for(_item(q)) for q in ("sd", "hd", "4k")] == ["local", "fashn", "replicate"]


def test_the_fallback_takes_over_only_while_the_primarys_circuit_is_open(monkeypatch, settings, db):
    settings.TRYON_RENDERER = "fal"
    monkeypatch.setenv("FAL_KEY", "k")
    monkeypatch.setenv("FASHN_API_KEY", "f")
    monkeypatch.setenv("TRYON_FALLBACK_RENDERER", "fashn")
    assert renderer_for(_item("sd")) == "fal"
    EngineCircuit.objects.create(
        engine="fal", consecutive_failures=5, open_until=timezone.now() + timedelta(seconds=60)
    )
    assert renderer_for(_item("sd")) == "fashn"
    EngineCircuit.objects.create(
        engine="fashn", consecutive_failures=5, open_until=timezone.now() + timedelta(seconds=60)
    )
    assert renderer_for(_item("sd")) == "fal", (
        "both open: the primary, whose jobs back off, rather than nothing"
    )
