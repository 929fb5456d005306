"""The portal's credits pages (being built)."""

urlpatterns: list = []
