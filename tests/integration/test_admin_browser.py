"""The operators' admin in a real headless browser (Debian's chromium through its chromedriver, nothing downloaded)
against Django's live server: log in as a superuser, then the W-Matrix list, the support-matrix page and the API
docs render styled (their static CSS loaded) and show what an operator decides on.

Needs ``chromium`` and ``chromedriver`` on PATH (``apt-get install chromium chromium-driver``; ``.ci/run`` installs
them): skipped without them, failed in CI (``CI=true``). About 15 s.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,1000")
PASSWORD = "operator-password-1"
ADMIN_HEADER_BG = "rgb(65, 118, 144)"  # Django admin's --header-bg (#417690): only there when base.css loaded


def _executable(*names: str) -> str:
    found = next((path for path in map(shutil.which, names) if path), None)
    if found is None:
        message = f"{' / '.join(names)} not found (apt-get install chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; .ci/run should have installed it", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium driven through the chromedriver on PATH (the path is given: selenium downloads nothing)."""
    pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _executable("chromium", "chromium-browser")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=_executable("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def operator_data(settings: Any, tmp_path: Path, django_user_model: Any) -> Any:
    """A superuser and one certified matrix with a measured retention and a drifted last check."""
    from operator_data import decided_matrix

    from marketplace.catalog.models import Architecture

    settings.MEDIA_ROOT = tmp_path / "media"
    django_user_model.objects.create_superuser("operator", "operator@example.org", PASSWORD)
    common = {"family": "tiny", "num_layers": 4, "support_level": Architecture.Support.FULL}
    src = Architecture.objects.create(name="src-model", hidden_size=8, **common)
    tgt = Architecture.objects.create(name="tgt-model", hidden_size=6, **common)
    Architecture.objects.create(name="lonely-model", hidden_size=6, **common)
    return decided_matrix(src, tgt, tmp_path)


def _wait(browser: Any, condition: str, timeout: float = 20.0) -> Any:
    """Wait until the JavaScript expression `condition` is truthy; return its value."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda d: d.execute_script(f"return {condition};"))


def _loaded_sheets(browser: Any, fragment: str) -> int:
    """How many loaded stylesheets whose URL contains `fragment` have rules (0: missing or failed to load)."""
    return browser.execute_script(
        "return Array.from(document.styleSheets).filter(s => (s.href || '').includes(arguments[0]))"
        ".filter(s => { try { return s.cssRules.length > 0; } catch (e) { return false; } }).length;", fragment)


def _log_in(browser: Any, base: str, next_path: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/admin/login/?next={next_path}")
    assert _loaded_sheets(browser, "/static/admin/css/") > 0, "the login page has no admin CSS"
    browser.find_element(By.ID, "id_username").send_keys("operator")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    _wait(browser, f"window.location.pathname === {next_path!r}")


def _header_background(browser: Any) -> str:
    return browser.execute_script("return getComputedStyle(document.getElementById('header')).backgroundColor;")


def test_admin_pages_render_styled_with_the_operator_columns(browser: Any, live_server: Any, operator_data: Any,
                                                             tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    changelist = "/admin/alignment/wmatrix/"
    _log_in(browser, live_server.url, changelist)
    assert _loaded_sheets(browser, "/static/admin/css/base") == 1 and _header_background(browser) == ADMIN_HEADER_BG
    headers = [th.text.strip().lower() for th in browser.find_elements(By.CSS_SELECTOR, "#result_list thead th")]
    for column in ("tier", "recommended pair", "measured retention", "last drift check"):
        assert column in headers, headers
    row = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr").text
    tier = operator_data.certificates.get().tier
    assert f"tier {tier}" in row and "3 → 2" in row and "0.62 [0.50, 0.70]" in row and "drifted" in row, row
    badge = browser.find_element(By.CSS_SELECTOR, "#result_list .tier-badge")
    assert badge.value_of_css_property("color") == "rgba(255, 255, 255, 1)"

    browser.get(f"{live_server.url}/admin/support-matrix/")
    assert _header_background(browser) == ADMIN_HEADER_BG
    content = browser.find_element(By.ID, "content")
    assert [h.text for h in content.find_elements(By.TAG_NAME, "h1")] == ["Support matrix"]
    assert not content.find_elements(By.TAG_NAME, "h2")  # the description is said once, as a paragraph
    assert browser.title.count("Support matrix") == 1
    legend = browser.find_elements(By.CSS_SELECTOR, "ul.legend li")
    assert legend and {li.value_of_css_property("list-style-type") for li in legend} == {"none"}  # no bullets
    cell = browser.find_element(By.CSS_SELECTOR, "table.support-matrix td.cell").text
    assert "62%" in cell and "pair 3 → 2" in cell and "drift drifted" in cell and f"tier {tier}" in cell, cell
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.support-matrix td.empty")) == 8  # 3×3 minus one pair

    browser.get(f"{live_server.url}/api/docs/")
    _wait(browser, "document.querySelectorAll('.swagger-ui .opblock').length > 0", timeout=40)
    assert _loaded_sheets(browser, "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css") == 1
    assert "W-Matrix Marketplace API" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info").text
    if os.environ.get("ADMIN_SCREENSHOTS"):  # for a person to look at: ADMIN_SCREENSHOTS=/some/dir
        folder = Path(os.environ["ADMIN_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        for name, path in (("wmatrix-list", changelist), ("support-matrix", "/admin/support-matrix/"),
                           ("api-docs", "/api/docs/")):
            browser.get(live_server.url + path)
            if name == "api-docs":
                _wait(browser, "document.querySelectorAll('.swagger-ui .opblock').length > 0", timeout=40)
            browser.save_screenshot(str(folder / f"{name}.png"))
