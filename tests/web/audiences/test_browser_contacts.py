"""In a real browser: the contacts page's bulk bar (tick all, the input each action needs, apply) and the
contact page with every section filled. Screenshots land under the test's tmp directory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

import campaigns
from audiences import add_contact_date, create_contact, create_custom_field, create_list, set_consent
from campaigns.models import Conversion, Message, MessageEvent
from tests.web.conftest import PASSWORD
from tests.web.test_browser import browser  # noqa: F401 - the shared chromium fixture
from web.app import create_app

pytestmark = pytest.mark.browser


@pytest.fixture
def server(config, database, clock) -> Iterator[str]:
    app = create_app(config, database=database, clock=clock)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="herald-test-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(10)


@pytest.fixture
def people(database, clock, make_user):
    now = clock.now()
    owner = make_user("admin", "lin@example.com")
    with database.session() as session:
        create_custom_field(session, key="level", label="会员等级", type="choice", choices=["金卡", "银卡"], now=now)
        create_custom_field(session, key="joined", label="Joined", type="date", now=now)
        ids = [create_contact(session, default_region="CN", now=now, phone=f"1380013800{n}", name=name,
                              region="上海", value_tier="ABCD"[n % 4], lifecycle_stage="repeat").id
               for n, name in enumerate(["王芳", "李雷", "韩梅梅", "欧阳娜娜"])]
        wang = ids[0]
        mary = create_contact(session, default_region="CN", now=now, email="mary@example.com", name="Mary Smith",
                       owner_id=owner.id, tags=["vip", "展会2026"], company="Acme", region="Bavaria",
                       value_tier="A", lifecycle_stage="vip", source="trade fair",
                       notes="Prefers email.\nCall before renewal.",
                       attributes={"level": "金卡", "joined": "2019-04-01", "city": "Munich"})
        add_contact_date(session, wang, kind="contract_renewal", when="2027-03-01", note="3-year deal")
        set_consent(session, wang, "sms", "unsubscribed", source="reply TD", now=now - timedelta(days=3))
        set_consent(session, wang, "sms", "subscribed", source="changed by hand", now=now, changed_by=owner.id)
        create_list(session, "Spring fair", now=now)
        # Mary's timeline: a campaign message, its delivery, and a purchase credited to it.
        template = campaigns.create_template(session, name="News", channel="email", subject="Spring news",
                                             html="<p>Hello</p>", now=now)
        campaign = campaigns.create_campaign(session, name="Spring newsletter", channel="email",
                                             template_id=template.id, now=now)
        campaigns.send_campaign(session, campaign.id, now=now, channel_description="log://", dry_run=True)
        message = session.scalar(select(Message).where(Message.contact_id == mary.id))
        message.status, message.sent_at = "delivered", now + timedelta(minutes=1)
        session.add(MessageEvent(message_id=message.id, type="delivered", occurred_at=now + timedelta(minutes=2),
                                 detail={"reason": "250 OK"}))
        session.add(Conversion(contact_id=mary.id, order_id="SO-1042", amount=Decimal("389.00"), currency="EUR",
                               amount_base=Decimal("389.00"), occurred_at=now + timedelta(days=2),
                               product="Tea set", campaign_id=campaign.id, message_id=message.id,
                               attribution="receipt", created_at=now))
        session.commit()
    return ids


def test_bulk_bar_and_contact_page_in_the_browser(browser, server, people, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    page.goto(server + "/login")
    page.fill("#f-email", "lin@example.com")
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")

    page.goto(server + "/contacts?q=138")
    expect(page.locator('input[name="action_tag"]')).to_be_visible()
    page.select_option("#bulk-action", "assign_owner")
    expect(page.locator('input[name="action_tag"]')).to_be_hidden()
    expect(page.locator('select[name="owner_id"]')).to_be_visible()
    page.select_option("#bulk-action", "add_to_list")
    page.check("#tick-all")
    assert page.locator('input[name="contact_id"]:checked').count() == 4
    page.screenshot(path=str(tmp_path / "contacts.png"), full_page=True)
    page.click("#bulk-bar button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("4 contacts added to the list.")

    page.goto(server + f"/contacts/{people[0]}")
    for section in ("#profile", "#custom-fields", "#lists", "#dates", "#consent", "#timeline"):
        expect(page.locator(section)).to_be_visible()
    expect(page.locator("#lists")).to_contain_text("Spring fair")
    expect(page.locator("#consent")).to_contain_text("reply TD")
    page.screenshot(path=str(tmp_path / "contact.png"), full_page=True)
    page.goto(server + "/contacts?tag=vip")
    page.click("text=Mary Smith")
    expect(page.locator("#timeline")).to_contain_text("Order SO-1042")
    page.screenshot(path=str(tmp_path / "contact-full.png"), full_page=True)
    # The same page in Chinese: the language switch keeps the reader on it.
    page.select_option("#lang-select", "zh_CN")
    expect(page.locator("#timeline")).to_contain_text("订单 SO-1042")
    expect(page.locator("#profile")).to_contain_text("忠诚客户（VIP）")
    page.screenshot(path=str(tmp_path / "contact-zh.png"), full_page=True)
    page.select_option("#lang-select", "en")
    expect(page.locator("#timeline")).to_contain_text("Order SO-1042")
    page.goto(server + f"/contacts/{people[0]}/edit")
    page.screenshot(path=str(tmp_path / "contact-edit.png"), full_page=True)
    page.goto(server + "/settings/suppressions")
    page.fill("#f-addresses", "13800138001\nnot@")
    page.click("form.card button[type=submit]")
    expect(page.locator(".alert-error")).to_contain_text("not@")
    page.screenshot(path=str(tmp_path / "suppressions.png"), full_page=True)
