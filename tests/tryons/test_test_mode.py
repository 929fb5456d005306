"""Test mode renders with the local preview compositor, whatever engine live mode is configured with."""

import pytest

from organizations.services import organization_sandbox
from tests.tryons.conftest import make_photo
from tryons import services
from tryons.models import TryOn
from tryons.renderers import renderer_override

pytestmark = pytest.mark.django_db


def test_only_a_sandbox_is_overridden(organization):
    sandbox = organization_sandbox(organization=organization)
    assert renderer_override(sandbox.id) == "local"
    assert renderer_override(organization.id) is None


def test_a_test_mode_try_on_renders_locally_while_live_mode_uses_the_configured_engine(
    organization, settings, garment_server, allow_private
):
    settings.TRYON_RENDERER = "http"
    settings.TRYON_HTTP_RENDERER_URL = "http://127.0.0.1:9/render"  # nothing listens: live would fail
    sandbox = organization_sandbox(organization=organization)
    test_tryon = services.tryon_create(
        organization_id=sandbox.id,
        photo_key=make_photo(sandbox).storage_key,
        garment=services.GarmentInput(
            product_id="p1", variant_id="", image_url=garment_server.url("/garment-1.png"), category="tops"
        ),
        render_quality="sd",
    )
    services.tryon_process(tryon_id=test_tryon.id)
    test_tryon.refresh_from_db()
    assert (test_tryon.status, test_tryon.error_code, test_tryon.error) == (TryOn.Status.COMPLETED, "", "")
    assert test_tryon.renderer == "local"
    assert test_tryon.result_key
