"""/api/docs (Swagger UI) and /api/redoc (ReDoc) render from assets the project serves itself: no CDN, no
fonts from the internet, so they work offline and under gunicorn."""

import re
import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
PAGES = ["/api/docs", "/api/redoc"]
# Operations both pages must have drawn from /api/schema (their operationIds appear in the DOM).
OPERATIONS = ["cartTryons_create", "customerPhotos_create", "webhooks_test"]


def render_offline(url: str, profile: str) -> str:
    """The page's DOM after its scripts ran, in headless Chromium that can reach nothing but this machine."""
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            # Every host name fails to resolve except the live server's (localhost): the network is off.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=30000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
@pytest.mark.parametrize("page", PAGES)
def test_the_api_docs_render_their_operations_with_the_network_off(live_server, tmp_path, page):
    dom = render_offline(live_server.url + page, str(tmp_path / "profile"))

    missing = [operation for operation in OPERATIONS if operation not in dom]
    assert not missing, f"{page} did not render {missing}; DOM starts: {dom[:2000]}"
    if page == "/api/docs":
        assert dom.count('class="opblock-summary-path"') >= 30  # every operation of the schema, drawn


@pytest.mark.parametrize("page", PAGES)
def test_the_api_docs_pages_load_nothing_from_another_origin(client, page):
    html = client.get(page).content.decode()

    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)""", html)
    assert assets
    for asset in assets:
        # Through Django's URLs, as under gunicorn where nothing else serves /static/.
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert b"".join(response.streaming_content)
