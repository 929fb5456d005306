"""The portal's customers pages (being built)."""

urlpatterns: list = []
