"""In a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`, installed by
`make browser`), driven by Selenium, against a separately started `standin serve`.

The docs page authorizes with the demo credentials it was given and runs "Try it out"; a page on
another origin calls Resource Guru until it is rate-limited and reads `Retry-After` from
JavaScript, which only works if the 429 carries CORS headers and exposes `Retry-After`.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

from tests.test_control_state import free_port, standin

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists() and not shutil.which(Path(p).name)]
    assert not missing, f"{missing} not installed: `make browser` (apt-get install chromium chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait(driver, seconds: float = 30) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def test_docs_page_authorizes_with_the_demo_credentials_and_tries_the_widgets_list(browser):
    with standin("--api", "productive", "--rate-limit", "0") as (base, _):
        browser.get(f"{base}/_standin/docs/productive")
        operation = wait(browser).until(
            seen.element_to_be_clickable(
                (By.CSS_SELECTOR, "#operations-widgets-widgets_list .opblock-summary")
            )
        )
        browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
        dialog = wait(browser).until(
            seen.visibility_of_element_located((By.CSS_SELECTOR, ".dialog-ux .modal-ux"))
        )
        assert (
            len(dialog.find_elements(By.XPATH, ".//button[normalize-space()='Logout']")) == 2
        )  # both keys set
        dialog.find_element(By.XPATH, ".//button[normalize-space()='Close']").click()
        operation.click()
        block = browser.find_element(By.ID, "operations-widgets-widgets_list")
        wait(browser).until(lambda _: block.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
        wait(browser).until(lambda _: block.find_element(By.CSS_SELECTOR, ".execute")).click()
        status = wait(browser).until(
            lambda _: block.find_element(
                By.CSS_SELECTOR, ".live-responses-table .response .response-col_status"
            )
        )
        body = block.find_element(By.CSS_SELECTOR, ".live-responses-table .response-col_description pre").text
        assert status.text.strip() == "200", body
        assert '"type": "widgets"' in body


PAGE = """<!doctype html><title>another origin</title><pre id="out">running</pre>
<script>
(async () => {
  const url = "%s/v1/example-corp/resources";
  const auth = {Authorization: "Basic " + btoa("user@example.com:secret")};
  for (let i = 1; i <= 20; i++) {
    const r = await fetch(url, {headers: auth});
    if (r.status === 429) {
      document.getElementById("out").textContent =
        JSON.stringify({after: i, retryAfter: r.headers.get("Retry-After")});
      return;
    }
  }
  document.getElementById("out").textContent = "never limited";
})().catch(e => { document.getElementById("out").textContent = "error: " + e; });
</script>"""


def test_a_page_on_another_origin_reads_retry_after_from_a_429(browser):
    with standin("--rate-limit", "5") as (base, _):
        page = (PAGE % f"{base}/resourceguru").encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        origin = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
        threading.Thread(target=origin.serve_forever, daemon=True).start()
        try:
            browser.get(f"http://127.0.0.1:{origin.server_address[1]}/")
            out = wait(browser).until(lambda d: (t := d.find_element(By.ID, "out").text) != "running" and t)
        finally:
            origin.shutdown()
            origin.server_close()
        assert out.startswith("{"), out  # "error: TypeError: Failed to fetch" when CORS blocks it
        result = json.loads(out)
        assert result["after"] == 6 and int(result["retryAfter"]) > 0, result
