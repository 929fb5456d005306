"""The partner guide at /api/docs/guide: docs/guide/*.md rendered on the server (no CDN, no script), each
`<!-- sample: samples/… -->` line replaced by that file, which CI runs against the e2e stack
(tests/e2e/test_sdks.py), so the code a partner copies is code that ran."""

import html
import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import path
from markdown_it import MarkdownIt

GUIDE_DIR = Path(settings.BASE_DIR) / "docs" / "guide"
SAMPLE_LINE = re.compile(r"^<!-- sample: (samples/[\w.-]+) -->$", re.M)
LANGUAGES = {".py": "python", ".mjs": "javascript", ".php": "php", ".sh": "sh"}


def guide_pages() -> list[Path]:
    """The guide's pages in reading order (their file names start with their position)."""
    return sorted(GUIDE_DIR.glob("*.md"))


def sample_references(text: str) -> list[str]:
    return SAMPLE_LINE.findall(text)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _with_samples(text: str) -> str:
    def fenced(match: re.Match) -> str:
        path = GUIDE_DIR / match.group(1)
        code = path.read_text()
        fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
        return f"{fence}{LANGUAGES.get(path.suffix, '')}\n{code.rstrip()}\n{fence}\n\n*{match.group(1)}*"

    return SAMPLE_LINE.sub(fenced, text)


def _markdown() -> MarkdownIt:
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")

    def heading_open(self, tokens, index, options, env):
        # An id on every heading, so the table of contents and in-guide links can point at it.
        tokens[index].attrSet("id", slug(tokens[index + 1].content))
        return self.renderToken(tokens, index, options, env)

    renderer.add_render_rule("heading_open", heading_open)
    return renderer


@cache
def guide_html() -> tuple[str, list[tuple[str, str]]]:
    """The rendered guide and its table of contents (title, anchor); read once per process."""
    renderer = _markdown()
    sections, contents = [], []
    for page in guide_pages():
        text = page.read_text()
        title = text.splitlines()[0].removeprefix("# ").strip()
        contents.append((title, slug(title)))
        sections.append(f"<section>{renderer.render(_with_samples(text))}</section>")
    return "\n".join(sections), contents


def guide_view(request):
    """GET /api/docs/guide: the whole guide on one page, public like the OpenAPI document."""
    body, contents = guide_html()
    page = render_to_string(
        "api_docs/guide.html",
        {"contents": [(html.escape(title), anchor) for title, anchor in contents], "body": body},
    )
    return HttpResponse(page, content_type="text/html; charset=utf-8")


urlpatterns = [path("", guide_view, name="docs-guide")]
