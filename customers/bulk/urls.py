"""The bulk job routes of one resource (customers, garments): imports with their row errors, and exports."""

from django.urls import path


def bulk_job_urls(prefix: str, name: str, imports, exports) -> list:
    """`<prefix>/imports[/<id>[/errors]]` and `<prefix>/exports[/<id>]`, named `<name>-import(s|-errors)`
    and `<name>-export(s)`; listed before a route whose `<id>` would take "imports" and "exports"."""
    return [
        path(f"{prefix}/imports", imports.as_view({"get": "list", "post": "create"}), name=f"{name}-imports"),
        path(f"{prefix}/imports/<str:id>", imports.as_view({"get": "retrieve"}), name=f"{name}-import"),
        path(
            f"{prefix}/imports/<str:id>/errors",
            imports.as_view({"get": "errors"}),
            name=f"{name}-import-errors",
        ),
        path(f"{prefix}/exports", exports.as_view({"get": "list", "post": "create"}), name=f"{name}-exports"),
        path(f"{prefix}/exports/<str:id>", exports.as_view({"get": "retrieve"}), name=f"{name}-export"),
    ]
