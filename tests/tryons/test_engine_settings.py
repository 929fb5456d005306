"""Engine settings fail loudly, naming the variable; selection is per quality, with the fallback behind the
circuit breaker."""

import logging
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from tryons.engines import fal
from tryons.engines.selection import renderer_for
from tryons.engines.settings import configured_renderers, engine_settings
from tryons.models import EngineCircuit
from tryons.qualities import QUALITIES, quality_variable
from tryons.renderers.registry import COMMERCIAL, ENGINES, RENDERERS, EngineModel, engine_model

VERSION = "0513734a452173b8173e907e3a59d19a36266e55b48528559432bd21c7d7e985"


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


def _needs_set(renderer, monkeypatch, settings):
    """Give `renderer` every setting the registry says it needs."""
    for variable in RENDERERS[renderer].needs:
        if hasattr(settings, variable):
            setattr(settings, variable, "https://renderer.example/x" if variable.endswith("_URL") else "set")
        else:
            monkeypatch.setenv(variable, f"owner/model:{VERSION}" if variable.endswith("_MODEL") else "set")


@pytest.mark.parametrize("renderer", list(RENDERERS))
@pytest.mark.parametrize(
    "variable", ["TRYON_RENDERER", *map(quality_variable, QUALITIES), "TRYON_FALLBACK_RENDERER"]
)
def test_every_registered_renderer_starts_from_every_variable_with_the_settings_it_needs(
    renderer, variable, monkeypatch, settings
):
    _needs_set(renderer, monkeypatch, settings)
    if variable == "TRYON_RENDERER":
        settings.TRYON_RENDERER = renderer
    else:
        monkeypatch.setenv(variable, renderer)
    assert renderer in configured_renderers()


@pytest.mark.parametrize("renderer", [name for name, kind in RENDERERS.items() if kind.needs])
def test_a_renderer_without_what_it_needs_is_refused_naming_the_variable_that_chose_it(renderer, monkeypatch):
    monkeypatch.setenv("TRYON_FALLBACK_RENDERER", renderer)
    with pytest.raises(ImproperlyConfigured, match=f"TRYON_FALLBACK_RENDERER={renderer} needs"):
        engine_settings()


def test_an_unregistered_main_renderer_is_refused_naming_the_variable(settings):
    settings.TRYON_RENDERER = "magic"
    with pytest.raises(ImproperlyConfigured, match="TRYON_RENDERER must be one of local, http"):
        engine_settings()


def _item(quality):
    return SimpleNamespace(render_quality=quality, organization_id=None)  # no test-mode routing


def test_each_quality_can_have_its_own_engine_and_the_rest_follow_tryon_renderer(monkeypatch, settings, db):
    settings.TRYON_RENDERER = "local"
    monkeypatch.setenv("TRYON_RENDERER_HD", "fashn")
    monkeypatch.setenv("TRYON_RENDERER_4K", "replicate")
    monkeypatch.setenv("FASHN_API_KEY", "f")
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r")
    monkeypatch.setenv("REPLICATE_MODEL", f"cuuupid/idm-vton:{VERSION}")
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


def test_every_default_model_is_licensed_for_commercial_use_and_starts_without_a_warning(monkeypatch, caplog):
    for variable, value in {
        "TRYON_RENDERER_SD": "fal",
        "TRYON_RENDERER_HD": "fashn",
        "FAL_KEY": "k",
        "FASHN_API_KEY": "f",
    }.items():
        monkeypatch.setenv(variable, value)
    with caplog.at_level(logging.WARNING, logger="tryons.engines.settings"):
        s = engine_settings()
    assert "licen" not in caplog.text
    defaults = [(name, s.model(name)) for name in ENGINES if s.model(name)]  # Replicate has no default
    assert len(defaults) >= 2
    for name, model in defaults:
        assert engine_model(RENDERERS[name], model).licence == COMMERCIAL, (name, model)
    assert s.fal_model == "fal-ai/leffa/virtual-tryon"


def test_every_engine_says_what_its_provider_keeps_in_terms_of_settings_that_exist():
    s = engine_settings()
    assert ENGINES
    for name in ENGINES:
        retention = RENDERERS[name].retention.format(**vars(s))  # a KeyError names a missing setting
        assert retention and "{" not in retention, name


def test_every_fal_model_the_client_accepts_has_a_declared_licence():
    declared = {model.name for model in RENDERERS["fal"].models}
    assert set(fal.MODEL_INPUTS) <= declared, "declare the licence of each fal model in the registry"


@pytest.mark.parametrize(
    ("env", "warning"),
    [
        (
            {"TRYON_RENDERER_SD": "fal", "FAL_MODEL": "fal-ai/cat-vton"},
            "FAL_MODEL=fal-ai/cat-vton is licensed research-only",
        ),
        ({"TRYON_FALLBACK_RENDERER": "fal", "FAL_MODEL": "fal-ai/idm-vton"}, "is licensed non-commercial"),
        (
            {"TRYON_RENDERER_HD": "replicate", "REPLICATE_MODEL": f"cuuupid/idm-vton:{VERSION}"},
            f"REPLICATE_MODEL=cuuupid/idm-vton:{VERSION} is licensed non-commercial",
        ),
        (
            {"TRYON_RENDERER_HD": "replicate", "REPLICATE_MODEL": "deployments/acme/tryon"},
            "REPLICATE_MODEL=deployments/acme/tryon has no declared licence",
        ),
    ],
)
def test_start_up_warns_about_a_configured_model_not_licensed_for_commercial_use(
    env, warning, monkeypatch, caplog
):
    for variable, value in {"FAL_KEY": "k", "REPLICATE_API_TOKEN": "r", **env}.items():
        monkeypatch.setenv(variable, value)
    with caplog.at_level(logging.WARNING, logger="tryons.engines.settings"):
        engine_settings()  # starts: a warning, not a refusal
    assert warning in caplog.text


@pytest.mark.parametrize("model", ["cuuupid/idm-vton", "someone/their-tryon", VERSION])
def test_a_community_replicate_model_without_a_version_is_refused_at_start_up(model, monkeypatch):
    monkeypatch.setenv("TRYON_RENDERER_4K", "replicate")
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r")
    monkeypatch.setenv("REPLICATE_MODEL", model)
    with pytest.raises(
        ImproperlyConfigured, match=f"REPLICATE_MODEL={model} is not an official Replicate model"
    ):
        engine_settings()


@pytest.mark.parametrize(
    "model", [f"cuuupid/idm-vton:{VERSION}", "deployments/acme/idm-vton", "acme/official"]
)
def test_a_versioned_model_a_deployment_or_an_official_model_starts(model, monkeypatch):
    kind = RENDERERS["replicate"]
    official = EngineModel("acme/official", COMMERCIAL, official=True)
    monkeypatch.setitem(RENDERERS, "replicate", replace(kind, models=(*kind.models, official)))
    monkeypatch.setenv("TRYON_RENDERER_4K", "replicate")
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r")
    monkeypatch.setenv("REPLICATE_MODEL", model)
    assert engine_settings().replicate_model == model
