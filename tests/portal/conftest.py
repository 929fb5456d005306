import pytest
from django.test import Client

from tests.factories import PASSWORD


@pytest.fixture
def portal_client():
    """A browser signed in to the portal through its own sign-in form, as `user`."""

    def sign_in(user) -> Client:
        client = Client()
        response = client.post("/portal/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.content
        return client

    return sign_in
