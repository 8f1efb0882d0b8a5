"""In a real browser: pick a holiday template from the gallery, copy it into one's templates, see its checks
next to the preview, send a test to oneself through SMTP (the loopback fake, tests/fakes/fake_smtp.py) and
check what arrived: the HTML and text parts with the contact's data, the [Test] subject and List-Unsubscribe.

The app and the embedded sender run as `herald serve` runs them (the fixtures of test_browser.py); Debian's
/usr/bin/chromium is driven through Playwright. Screenshots go to the test's tmp directory."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from audiences import create_contact
from core.users import create_user
from tests.conftest import make_config
from tests.fakes.fake_smtp import FakeSmtp
from tests.web.test_browser import browser, server  # noqa: F401 - the same browser and served app

pytestmark = pytest.mark.browser
PASSWORD = "a long password"


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        yield fake


@pytest.fixture
def config(tmp_path, db_url, smtp):
    return make_config(tmp_path, db_url, HERALD_CHANNELS_EMAIL_URL=f"{smtp.url}?from=news@example.com",
                       HERALD_SENDER_THREADS="1")


def test_a_gallery_template_is_copied_checked_and_sent_as_a_test_to_oneself(browser, server, database, clock,  # noqa: F811
                                                                              smtp, tmp_path):
    from playwright.sync_api import expect

    with database.session() as s:
        create_user(s, email="lin@example.com", password=PASSWORD, role="marketer", name="Lin Mei")
        create_contact(s, first_name="Ann", last_name="Lee", email="ann.lee@example.com", default_region="US",
                       now=clock.now())
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = browser.new_page(viewport={"width": 1360, "height": 1000})

    def shoot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(server + "/login")
    page.fill("#f-email", "lin@example.com")
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")

    # The gallery, in English, email: pick the Mid-Autumn greeting.
    page.goto(server + "/gallery?language=en&channel=email")
    expect(page.locator("#group-holiday")).to_be_visible()
    shoot("01-gallery")
    page.click('[data-gallery-key="mid_autumn"]')
    expect(page.locator("h1")).to_contain_text("Mid-Autumn Festival greeting")
    expect(page.locator("#preview-subject")).to_have_text("Happy Mid-Autumn Festival, Ann")
    expect(page.locator('[data-check-code="signature_placeholder"]')).to_be_visible()
    shoot("02-gallery-preview")

    # Copy it with our signature: it opens in the editor, whose checks run live next to the preview.
    page.fill("#c-signature", "Herald Coffee")
    page.click("#gallery-copy button[type=submit]")
    page.wait_for_url(f"{server}/templates/*")
    expect(page.locator("#f-name")).to_have_value("Mid-Autumn Festival greeting")
    expect(page.locator("#preview-subject")).to_have_text("Happy Mid-Autumn Festival, Ann")
    checks = page.locator("#preview-checks")
    expect(checks.locator("li").first).to_be_visible()
    assert not checks.locator('[data-check-code="signature_placeholder"]').count()
    # base_url is a loopback address in this test, so Herald's own unsubscribe link is rightly flagged.
    expect(checks.locator('[data-check-code="link_local"]')).to_have_count(1)  # HTML and text: said once
    page.fill("#f-subject", "FREE MONEY for you!!!")
    expect(checks.locator('[data-check-code="spam_phrases"]')).to_be_visible()
    expect(checks.locator('[data-check-code="spam_exclamations"]')).to_be_visible()
    shoot("03-editor-checks")
    page.fill("#f-subject", "Happy Mid-Autumn Festival, {{ contact.first_name }}")
    expect(checks.locator('[data-check-code="spam_phrases"]')).to_have_count(0)

    # Send a test to oneself with Ann's data.
    expect(page.locator("#t-addresses")).to_have_value("lin@example.com")
    page.click("#send-test button[type=submit]")
    expect(page.locator(".flash, .alert").filter(has_text="Test sent to lin@example.com")).to_be_visible()
    deadline = time.monotonic() + 20
    while not smtp.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    shoot("04-test-sent")
    [received] = smtp.messages
    mail = received.message
    assert received.rcpt_tos == ["lin@example.com"]
    assert mail["Subject"] == "[Test] Happy Mid-Autumn Festival, Ann" and mail["X-Herald-Test"] == "yes"
    assert mail["List-Unsubscribe"].startswith("<http") and "/u/" in mail["List-Unsubscribe"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = mail.get_body(preferencelist=("html",)).get_content()
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Dear Ann," in html and "Herald Coffee" in html and "【签名】" not in html
    assert "Dear Ann," in text and "Herald Coffee" in text and "Unsubscribe: http" in text
    # The test is no campaign of the list.
    page.goto(server + "/campaigns")
    assert "Mid-Autumn" not in page.content()
    shoot("05-campaigns-unchanged")
    page.goto(server + "/gallery/mid_autumn?language=zh_CN&channel=email")
    expect(page.locator("#preview-subject")).to_have_text("Ann Lee，祝您中秋快乐、阖家团圆")
    shoot("06-gallery-chinese")
