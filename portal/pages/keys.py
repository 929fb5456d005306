"""The portal's keys pages (being built)."""

urlpatterns: list = []
