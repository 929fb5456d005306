"""Views are thin: they read through their app's selectors and write through its services, so no view module
builds a query of its own (a tenancy filter or an ordering written twice drifts apart)."""

import re

from tests.architecture.rooms import ROOT, room_sources

# `Model.objects.none()` only tells DRF and the schema which model a viewset serves; it never queries.
QUERY = re.compile(
    r"\.objects\.(?!none\(\))\w+|\.(?:filter|exclude|order_by|select_related|prefetch_related|values_list"
    r"|annotate|aggregate)\("
)


def _view_modules():
    return [
        path
        for path in room_sources()
        if path.name == "views.py"
        or path.name.endswith("_views.py")
        or path.parent.name == "pages"  # the portal's pages are its views
        or path.name == "sign_in.py"
    ]


def test_no_view_module_builds_a_query():
    modules = _view_modules()
    assert len(modules) >= 8
    queries = {
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}": match.group()
        for path in modules
        for text in [path.read_text()]
        for match in QUERY.finditer(text)
    }
    assert queries == {}


def test_the_rule_sees_a_query_and_lets_the_schema_hint_through():
    assert QUERY.findall('ApiKey.objects.filter(pk=1)\nkey.events.select_related("actor")') == [
        ".objects.filter",
        ".select_related(",
    ]
    assert QUERY.findall("queryset = ApiKey.objects.none()") == []
