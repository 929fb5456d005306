"""The portal's catalogues pages (being built)."""

urlpatterns: list = []
