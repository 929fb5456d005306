import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apikeys import services as apikey_services
from organizations.models import Membership
from tests.factories import UserFactory, make_organization


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    for item in items:
        if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if item.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL"))
        if item.get_closest_marker("rabbitmq") and not os.environ.get("RABBITMQ_URL"):
            item.add_marker(pytest.mark.skip(reason="needs RabbitMQ: set RABBITMQ_URL"))


# Render reuse (tryons.reuse) is off unless a test turns it on: the pipeline's tests render the same garment
# on the same photo again and again, and mean each render. Workers these tests start inherit it; the e2e
# stack does not (tests/e2e/stack.py), and runs with the default, reuse on.
os.environ["RENDER_REUSE_DAYS"] = "0"


@pytest.fixture(autouse=True)
def _no_render_reuse(settings):
    settings.RENDER_REUSE_DAYS = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Django's PBKDF2 costs ~0.5 s per password on these machines, and most tests create users; no test
    # depends on the hasher (login tests still check real passwords, through whichever hasher is set).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def service_password_hasher(settings):
    """Users created for a service started as production runs it (tests/live_service.py) sign in there with
    its hasher, PBKDF2, not the fast one above."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def stranger(db):
    return UserFactory(username="stranger")


@pytest.fixture
def billing_staff(db):
    return UserFactory(username="billing", is_staff=True, groups=["billing"])


@pytest.fixture
def support_staff(db):
    return UserFactory(username="support", is_staff=True, groups=["support"])


@pytest.fixture
def organization(owner):
    return make_organization(owner=owner, name="Acme Fashion")


@pytest.fixture
def other_organization(db):
    return make_organization(name="Rival Apparel")


@pytest.fixture
def member_of():
    def add(organization, role=Membership.Role.VIEWER, **user_kwargs):
        user = UserFactory(**user_kwargs)
        Membership.objects.create(organization=organization, user=user, role=role)
        return user

    return add


@pytest.fixture
def jwt_client():
    """An APIClient authenticated as `user` with a real JWT (or anonymous with None)."""

    def build(user=None):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return client

    return build


@pytest.fixture
def api_key_for():
    """Create a real API key and return (key row, full secret)."""

    def create(organization, scopes=("all",), **kwargs):
        return apikey_services.apikey_create(
            organization=organization, name=kwargs.pop("name", "Test key"), scopes=list(scopes), **kwargs
        )

    return create


@pytest.fixture
def partner_client(api_key_for):
    """An APIClient sending `X-API-Key` for a new key of `organization` with `scopes`."""

    def build(organization, scopes=("all",), **kwargs):
        _, raw_key = api_key_for(organization, scopes, **kwargs)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw_key)
        return client

    return build


@pytest.fixture
def rabbitmq_broker(settings):
    """A private RabbitMQ vhost, with this process's Celery app publishing to it; yields its amqp:// URL for
    the workers a test starts (CELERY_BROKER_URL). Tests using it are marked `rabbitmq`."""
    from tests import rabbitmq

    with rabbitmq.private_vhost() as url, rabbitmq.celery_app_on(url):
        settings.CELERY_BROKER_URL, settings.BROKER_KIND = url, "rabbitmq"
        yield url


@pytest.fixture
def eager_tasks():
    """Run queued Celery tasks inline (a countdown is ignored, but a retry not yet due is a no-op anyway)."""
    from config.celery import app as celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
