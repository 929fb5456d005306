import pytest


@pytest.fixture
def confirm_money_form():
    """Post an admin money form (add credits / adjust) to preview, then confirm it with the preview's one-time
    confirmation; returns (preview response, confirm response)."""

    def confirm(client, url, form):
        preview = client.post(url, form)
        confirmation = preview.context["preview"]["confirmation"]
        return preview, client.post(url, {**form, "confirm": "yes", "confirmation": confirmation})

    return confirm
