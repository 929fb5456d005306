import pytest

from tests.s3_server import s3_endpoint, s3_storage  # noqa: F401


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Local-disk storage goes to a per-test directory, never the developer's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def customer_client(organization, partner_client):
    return partner_client(organization)
