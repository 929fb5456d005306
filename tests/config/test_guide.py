"""/api/docs/guide: the partner guide rendered from docs/guide, every code sample in it a file that the e2e
stack runs (tests/e2e/test_sdks.py), and no asset from outside."""

import re

import pytest

from api.guide import GUIDE_DIR, guide_pages, sample_references
from tests.e2e.test_sdks import SAMPLE_RUNS

# What the guide must teach (issue 34): each topic is a page's title.
TOPICS = [
    "Quickstart",
    "Test mode",
    "Errors and retries",
    "Idempotency",
    "Pagination",
    "Rate limits and headers",
    "Webhooks and verification",
    "Looks and render controls",
    "Versions",
    "The partner API reference's examples, corrected",
]


def _referenced() -> list[str]:
    return [ref for page in guide_pages() for ref in sample_references(page.read_text())]


def test_the_guide_has_a_page_per_topic_in_order():
    titles = [page.read_text().splitlines()[0].removeprefix("# ") for page in guide_pages()]
    assert titles == TOPICS


def test_every_sample_the_guide_names_exists_and_every_sample_file_is_named():
    referenced = _referenced()
    assert referenced
    assert [ref for ref in referenced if not (GUIDE_DIR / ref).is_file()] == []
    files = {path.name for path in (GUIDE_DIR / "samples").iterdir() if path.is_file()}
    assert {ref.removeprefix("samples/") for ref in referenced} == files


def test_every_sample_is_run_by_the_e2e_test():
    files = {path.name for path in (GUIDE_DIR / "samples").iterdir() if path.is_file()}
    assert files and set(SAMPLE_RUNS) == files


def test_no_code_block_is_written_in_the_guide_itself():
    """Code a partner copies comes from a sample file CI runs; only shell install lines are inline."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", "".join(p.read_text() for p in guide_pages()), re.M | re.S)
    assert blocks
    assert {language for language, _ in blocks} == {"sh"}
    assert all(
        line.startswith(("pip install", "npm install")) for _, code in blocks for line in code.splitlines()
    )


@pytest.mark.django_db
def test_the_guide_is_served_with_its_samples_and_no_outside_asset(client):
    response = client.get("/api/docs/guide")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    for title in TOPICS:
        assert f">{title.replace(chr(39), '&#x27;')}</a>" in page or f">{title}</a>" in page, title
    # A sample's code is in the page, escaped: the PHP client's opening tag and the quickstart's wait.
    assert "&lt;?php" in page and "client.cart_tryons.wait(session[&quot;id&quot;], timeout=120)" in page
    assert 'id="webhooks-and-verification"' in page and 'href="#webhooks-and-verification"' in page
    assert re.findall(r'(?:src|href)="(?:https?:)?//', page) == []


def test_a_path_below_the_guide_is_a_404_in_the_error_format(client):
    response = client.get("/api/docs/guide/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == "ResourceNotFound"
