"""End to end in a real browser: first-run setup, CSV import, an SMS template, Send now, live counts, the report.

The app is served on a free loopback port by werkzeug in a thread, with the embedded sender (the same
EmbeddedRunner `herald serve` starts) sending through the log:// channel. Debian's /usr/bin/chromium is
driven through Playwright. A screenshot of each main page is saved under the test's tmp directory.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from scheduler import EmbeddedRunner
from tests.conftest import make_config
from web.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REQUIRE_SERVICES = os.environ.get("HERALD_REQUIRE_SERVICES") == "1"

CSV = (
    "email,phone,name,tier\n"
    "li.lei@example.com,+8613800138001,李雷,A\n"
    "han.mei@example.com,+8613800138002,韩梅梅,A\n"
    "not-an-email,,Bad Email,B\n"
    "mary@example.com,+12015550104,Mary Smith,B\n"
    ",,Nobody,\n"
)


@pytest.fixture
def config(tmp_path, db_url):
    """One SMS a second through log://, so the sending takes a few seconds and the page must follow it live."""
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=f"log://{tmp_path / 'outbox'}?rate=1/second",
                       HERALD_SENDER_THREADS="1")


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing — apt-get install chromium"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (HERALD_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(config, database) -> Iterator[str]:
    """Herald as `herald serve` runs it: the web app plus the embedded sender, on a free port."""
    app = create_app(config, database=database)
    runner = EmbeddedRunner(config, database, run_scheduler=False).start()
    app.extensions["herald.wake"] = runner.wake
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="herald-test-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(10)
    runner.stop()


def test_a_marketer_imports_writes_sends_and_reads_the_report_in_the_browser(browser, server, tmp_path):
    from playwright.sync_api import expect

    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())  # "Send … now?"

    def shoot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    # First run: every page leads to /setup, which creates the admin and logs in.
    page.goto(server + "/campaigns")
    assert page.url == server + "/setup"
    shoot("01-setup")
    page.fill("#f-name", "Lin Mei")
    page.fill("#f-email", "lin@example.com")
    page.fill("#f-password", "a long password")
    page.fill("#f-password_again", "a long password")
    page.click("text=Create administrator and start")
    page.wait_for_url(server + "/")
    assert "Hello, Lin Mei" in page.content()
    shoot("02-dashboard-empty")

    # Import a CSV with good and bad rows.
    csv_path = tmp_path / "spring-fair.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    page.goto(server + "/contacts/import")
    page.set_input_files("#f-file", str(csv_path))
    page.fill("#f-list_name", "Spring fair")
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url(re.compile(r".*/contacts/import/[0-9a-f]{32}/columns$"))  # check the proposed columns
    page.click("#start-import")
    page.wait_for_selector('[data-count="imported"]')  # the progress page turns into the result
    assert page.text_content('[data-count="imported"]').strip() == "3"
    assert page.text_content('[data-count="rejected"]').strip() == "2"
    rejected = page.locator("tr.rejected-row td.num").all_text_contents()
    assert [row.strip() for row in rejected] == ["4", "6"]
    assert "not-an-email" in page.locator("tr.rejected-row").first.text_content()
    shoot("03-import-result")
    page.goto(server + "/contacts")
    assert page.locator("table.table tbody tr").count() == 3
    shoot("04-contacts")

    # An SMS template, with the live preview showing a real contact and the segment count.
    page.goto(server + "/templates/new?channel=sms")
    page.fill("#f-name", "Gate change")
    page.fill("#f-body", "【Herald】{{ contact.first_name }}您好，会场改到B馆。回复TD退订")
    expect(page.locator('[data-sms="encoding"]')).to_have_text("UCS-2")  # the debounced preview answered
    assert page.text_content('[data-sms="segments"]') == "1"
    assert "会场改到B馆" in page.text_content("#preview-body")
    shoot("05-template-editor")
    page.click("#template-editor button[type=submit]")
    page.wait_for_url(re.compile(r".*/templates/\d+$"))
    assert "saved" in page.content()

    # A campaign to the imported list, sent from its page.
    page.goto(server + "/campaigns/new")
    page.fill("#f-name", "Spring fair gate notice")
    page.check("input[name=channel][value=sms]")
    page.select_option("#f-template_id", label="Gate change")
    page.select_option("#f-list_id", label="List: Spring fair (3)")
    shoot("06-campaign-form")
    page.click("#campaign-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/campaigns/\d+$"))
    assert "Dry run:" in page.content()
    shoot("07-campaign-draft")
    page.click("#send-now")
    page.wait_for_selector("#campaign-progress")
    assert page.text_content('[data-count="sent"]').strip() != "3"  # still sending at one a second
    # The page refreshes its counts every second from the status endpoint; wait for all three sent.
    # (Playwright's expect, not wait_for_function: the page's CSP rightly forbids eval.)
    expect(page.locator('[data-count="sent"]')).to_have_text("3", timeout=30_000)
    expect(page.locator('[data-count="pending"]')).to_have_text("0")
    assert page.text_content('[data-progress="done"]').strip() == "3"
    shoot("08-campaign-sent")

    # The report.
    page.click("text=Open the report")
    page.wait_for_url(re.compile(r".*/reports/campaigns/\d+$"))
    assert page.text_content('[data-report="recipients"]').strip() == "3"
    assert page.text_content('[data-report="sent"]').strip() == "3"
    assert page.text_content('[data-report="failed"]').strip() == "0"
    assert "$0.0237" in page.text_content('[data-report="cost"]')  # 3 × 1 segment × 0.0079, no fixed costs
    outbox = list((tmp_path / "outbox").glob("message-*.txt"))
    assert len(outbox) == 3 and "会场改到B馆" in outbox[0].read_text()
    shoot("09-report")

    # Print buttons work under the page's CSP (no inline handlers): window.print is called, nothing is blocked.
    refused: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and refused.append(msg.text))
    report_url = page.url
    for url in (report_url + "/print", server + "/reports"):
        page.goto(url)
        # evaluate runs as the driver, not as page script, so the CSP allows it; a function string is called.
        page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
        assert page.locator("[data-print]").count() == 1
        page.click("[data-print]")
        assert page.evaluate("window.__printed") == 1, url
    assert not refused, refused
    page.goto(report_url)

    # The same pages in Chinese.
    with page.expect_navigation():
        page.select_option("#lang-select", "zh_CN")
    assert "报告" in page.content()
    shoot("10-report-zh")
    for name, path in (("11-settings", "/settings"), ("12-users", "/users"), ("13-dashboard-zh", "/")):
        page.goto(server + path)
        shoot(name)
    assert len(list(shots.glob("*.png"))) == 13
