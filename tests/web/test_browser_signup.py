"""In a real browser, the issue's "Done when" for sign-ups: build a form in the UI, open its hosted page,
submit, read the confirmation link from the SMTP fake, confirm, and see the contact subscribed with its
evidence on the contact page. Screenshots land under the test's tmp directory."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from audiences import create_list
from campaigns.delivery.sender import send_until_idle
from campaigns.signups.models import SignupSubmission
from tests.conftest import make_config
from tests.fakes.fake_smtp import FakeSmtp
from tests.web.conftest import PASSWORD
from tests.web.test_browser import browser  # noqa: F401 - the shared chromium fixture
from web.app import create_app

pytestmark = pytest.mark.browser
CONSENT = "Yes, email me Tea House news and offers. I can unsubscribe at any time."


def test_a_form_built_in_the_ui_signs_up_a_visitor_who_confirms_by_the_emailed_link(
        browser, database, clock, tmp_path, db_url, make_user):  # noqa: F811
    from playwright.sync_api import expect

    make_user("admin", "lin@example.com")
    with database.session() as session:
        create_list(session, "Spring fair", now=clock.now())
    with FakeSmtp() as smtp:
        config = make_config(tmp_path, db_url, HERALD_CHANNELS_EMAIL_URL=smtp.url + "?from=news@example.com")
        http = make_server("127.0.0.1", 0, create_app(config, database=database, clock=clock), threaded=True)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        server = f"http://127.0.0.1:{http.server_port}"
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.goto(server + "/login")
            page.fill("#f-email", "lin@example.com")
            page.fill("#f-password", PASSWORD)
            page.click("button[type=submit]")

            page.goto(server + "/forms")
            page.click("text=New form")
            page.fill("#f-name", "Spring fair 2026")
            page.fill("#f-slug", "spring-fair")
            page.fill("#f-title", "Tea House news")
            page.check('input[name="required:first_name"]')
            page.check('#builder-lists input[type=checkbox]')
            page.fill("#f-email_consent", CONSENT)
            page.fill("#f-thanks", "Welcome to Tea House!")
            page.click("#form-editor button[type=submit]")
            expect(page.locator(".alert-success")).to_contain_text("Spring fair 2026")
            expect(page.locator("#snippet")).to_contain_text('action="http://127.0.0.1:8000/f/spring-fair"')
            expect(page.locator("#qr")).to_be_visible()
            page.screenshot(path=str(tmp_path / "form-editor.png"), full_page=True)

            page.goto(server + "/f/spring-fair")
            expect(page.locator("h1")).to_have_text("Tea House news")
            page.fill('input[name="email"]', "mei@example.com")
            page.fill('input[name="first_name"]', "Mei")
            page.check('input[name="consent"][value="email"]')
            page.screenshot(path=str(tmp_path / "hosted.png"), full_page=True)
            clock.advance(seconds=8)  # the time token: a person takes a few seconds to fill a form in
            page.click("#signup-form button[type=submit]")
            expect(page.locator("#check-email")).to_be_visible()
            page.screenshot(path=str(tmp_path / "sent.png"), full_page=True)

            assert send_until_idle(config, database, clock) == 1
            mail = next(m.message for m in smtp.messages if m.rcpt_tos == ["mei@example.com"])
            path = re.search(r"/f/confirm/\d+/[0-9a-f]+", mail.get_body(("plain",)).get_content()).group(0)
            page.goto(server + path)
            page.screenshot(path=str(tmp_path / "confirm.png"), full_page=True)
            page.click("#confirm-button")
            expect(page.locator("#thanks")).to_have_text("Welcome to Tea House!")

            with database.session() as session:
                contact_id = session.scalars(select(SignupSubmission.contact_id)).one()
            page.goto(server + f"/contacts/{contact_id}")
            expect(page.locator("#lists")).to_contain_text("Spring fair")
            expect(page.locator("#consent")).to_contain_text("sign-up form spring-fair, confirmed by link")
            page.click("#consent details.evidence summary")
            expect(page.locator("#consent details.evidence").first).to_contain_text(CONSENT)
            expect(page.locator("#consent details.evidence").first).to_contain_text("by the emailed link")
            page.screenshot(path=str(tmp_path / "contact-evidence.png"), full_page=True)
        finally:
            http.shutdown()
