"""Docs pages we serve ourselves, beside the reference (/api/docs, /api/redoc): the runnable examples and the
Postman collection. The examples are the files in docs/examples/ exactly as tests/config/test_docs_examples.py
runs them against a live server, so a page never shows a sample that does not work."""

from pathlib import Path

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render

from api.errors import method_not_allowed
from api.postman import postman_collection

EXAMPLES_DIR = Path(settings.BASE_DIR) / "docs" / "examples"
# Page name: (file, language, how to run it).
EXAMPLES = {
    "curl": ("curl.sh", "bash", "GARMAX_API_URL=… GARMAX_API_KEY=gx_test_… bash curl.sh"),
    "python": ("python.py", "python", "pip install requests; GARMAX_API_KEY=gx_test_… python python.py"),
    "javascript": (
        "javascript.mjs",
        "javascript",
        "GARMAX_API_KEY=gx_test_… node javascript.mjs  (Node 18+)",
    ),
}


def _safe_only(view):
    """GET or HEAD; anything else is the JSON 405 of every other route."""

    def guarded(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(request)
        return view(request, *args, **kwargs)

    guarded.__name__ = guarded.__qualname__ = view.__name__
    guarded.__doc__ = view.__doc__
    return guarded


@_safe_only
def example_page(request, language: str):
    """One language's example, read from its file in docs/examples/."""
    if language not in EXAMPLES:
        raise Http404(f"No example for {language!r}: {', '.join(EXAMPLES)}.")
    filename, syntax, run = EXAMPLES[language]
    context = {
        "language": language,
        "filename": filename,
        "syntax": syntax,
        "run": run,
        "source": (EXAMPLES_DIR / filename).read_text(),
        "languages": list(EXAMPLES),
    }
    return render(request, "api_docs/example.html", context)


@_safe_only
def postman_page(request):
    """The Postman collection (v2.1.0), `baseUrl` preset to this server; import it in Postman."""
    base_url = request.build_absolute_uri("/api").rstrip("/")
    response = JsonResponse(postman_collection(base_url), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'inline; filename="garmax-api.postman_collection.json"'
    return response


def undocumented(view_class):
    """`view_class` under a second path that the OpenAPI document leaves out (DRF's `schema = None`): the
    catalogues answer at seed 003's /api/v1/docs/… too, documented once, at /api/docs/…."""
    return type(f"Undocumented{view_class.__name__}", (view_class,), {"schema": None})
