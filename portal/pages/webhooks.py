"""The portal's webhooks pages (being built)."""

urlpatterns: list = []
