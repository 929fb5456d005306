"""The portal's usage pages (being built)."""

urlpatterns: list = []
