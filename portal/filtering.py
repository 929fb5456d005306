"""What the portal's filtered lists share: their refusals told as the API words them, and the links that page
on through a list while keeping its filters."""

from urllib.parse import urlencode


def filter_problems(details: dict) -> str:
    """The API's validation details (`{field: [problems]}`) as one sentence for the page."""
    parts = []
    for field, problems in details.items():
        problems = problems if isinstance(problems, list | tuple) else [problems]
        parts.append(f"{field}: {' '.join(str(problem) for problem in problems)}")
    return "Not shown. " + "; ".join(parts)


def older_query(request, cursor: str | None) -> str:
    """`?…` of this list with its filters and `after` set to `cursor` (the newest page when None)."""
    params = [(name, value) for name, value in request.GET.items() if name != "after" and value]
    if cursor:
        params.append(("after", cursor))
    return "?" + urlencode(params)
