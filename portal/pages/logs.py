"""The portal's logs pages (being built)."""

urlpatterns: list = []
