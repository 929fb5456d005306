"""Real-browser tests' harness: headless Chromium driven by Selenium against pytest-django's live server,
one profile and download folder per person, and a screenshot of each step under screenshots/<suite>/."""

import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
WAIT = 20

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromium-driver not installed (apt-get install chromium chromium-driver)",
)


class Browser:
    """One person's browser: visit, click, type, read, download, and a screenshot of each step."""

    def __init__(self, driver, base: str, downloads: Path, name: str, shots: Path):
        self.driver, self.base, self.downloads, self.name, self.shots_dir = (
            driver,
            base,
            downloads,
            name,
            shots,
        )
        self.shots = 0

    def visit(self, path: str, shot: str | None = None):
        self.driver.get(path if path.startswith("http") else self.base + path)
        if shot:
            self.screenshot(shot)

    def screenshot(self, label: str):
        self.shots += 1
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(self.shots_dir / f"{self.name}-{self.shots:02d}-{label}.png"))

    def find(self, selector: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        return WebDriverWait(self.driver, WAIT).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
        )

    def finds(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector: str = "main") -> str:
        return self.find(selector).text

    def click(self, selector: str):
        """Click something on this page (a checkbox), finding it again if the page swapped it meanwhile."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        for attempt in range(3):
            try:
                return self.find(selector).click()
            except WebDriverException as exc:
                stale = isinstance(exc, StaleElementReferenceException) or "does not belong" in str(exc)
                if attempt == 2 or not stale:
                    raise

    def submit(self, selector: str):
        """Click a button or link that loads a new page, and wait until it has replaced the old one."""
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        page = self.driver.find_element(By.TAG_NAME, "html")
        for attempt in range(3):
            # A page still settling can swap the element between finding and clicking it (chromedriver:
            # "Node with given id does not belong to the document"); find it again then.
            try:
                self.find(selector).click()
                break
            except WebDriverException as exc:
                stale = isinstance(exc, StaleElementReferenceException) or "does not belong" in str(exc)
                if attempt == 2 or not stale:
                    raise
        WebDriverWait(self.driver, WAIT).until(expected_conditions.staleness_of(page))

    def fill(self, selector: str, value: str):
        field = self.find(selector)
        field.clear()
        field.send_keys(value)

    def download(self, selector: str, suffix: str) -> Path:
        before = set(self.downloads.glob(f"*{suffix}"))
        self.find(selector).click()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            new = set(self.downloads.glob(f"*{suffix}")) - before
            if new:
                return new.pop()
            time.sleep(0.1)
        raise AssertionError(f"no {suffix} file arrived in {self.downloads}")


def browsers(live_server, tmp_path, suite: str, kind: type[Browser] = Browser):
    """Yield a `start(name, size="1400,1100")` that opens a browser of `kind`; all are quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def start(name: str, size: str = "1400,1100") -> Browser:
        downloads = tmp_path / f"downloads-{name}"
        downloads.mkdir()
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--window-size={size}",
            f"--user-data-dir={tmp_path / f'profile-{name}'}",
        ):
            options.add_argument(argument)
        options.add_experimental_option(
            "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
        )
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        driver.execute_cdp_cmd(
            "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        drivers.append(driver)
        return kind(driver, live_server.url, downloads, name, SCREENSHOTS / suite)

    yield start
    for driver in drivers:
        driver.quit()
