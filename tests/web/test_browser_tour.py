"""A tour of every page in a real browser, in English and in 简体中文, over a realistic database.

The database holds the demo data plus what a working week leaves behind: a completed campaign with
deliveries, a click and a conversion, a running one, a scheduled one, an event notice, a reply, a
segment, a custom field and a suppressed address. Every page must answer below 400, log no console
error and raise no script error; in Chinese the navigation must hold no untranslated English.
Set HERALD_TOUR_SHOTS=/some/dir to keep a full-page screenshot of each page there.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

import campaigns
from audiences import Contact, add_suppressions, create_segment
from campaigns.delivery.outgoing import unsubscribe_url
from campaigns.demo import seed_demo
from campaigns.firing import schedule_campaign, set_campaign_schedule
from campaigns.models import Conversion, Message, MessageEvent
from campaigns.notices import create_event_notice
from campaigns.queries import finish_idle_runs
from campaigns.schedules import Schedule
from channels.inbound import InboundSms
from core.users import create_user
from tests.campaigns.factories import ScriptedChannel, make_dispatcher
from tests.conftest import make_config
from tests.web.test_browser import browser  # noqa: F401 - the same chromium
from web.app import create_app

pytestmark = pytest.mark.browser

PASSWORD = "a long password"
CSV = "email,phone,name,tier\nli.lei@example.com,+8613800138001,李雷,A\nmary@example.com,+12015550104,Mary,B\n"
# The campaign pages' link to the report: (which campaign, how many links expected).
REPORT_LINK = {"campaign-scheduled": ("scheduled", 0), "campaign-completed": ("done", 1)}
# Latin words allowed in the Chinese navigation: the product's name.
BRAND = {"Herald"}


class RealClock:
    """The served app runs on the real clock; the dispatcher takes the same interface."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def _seed(database, config) -> dict[str, object]:
    """Demo data plus a campaign in every state, a reply and a conversion; returns the ids the tour visits."""
    now = datetime.now(UTC)
    with database.session() as session:
        create_user(session, email="admin@example.com", password=PASSWORD, role="admin", name="Lin Mei")
        demo = seed_demo(session, now=now, contacts=60)
        contact = session.scalars(select(Contact).where(Contact.phone.is_not(None)).order_by(Contact.id)).first()
        contact_id = contact.id
        segment = create_segment(session, name="A 或 B", rules={"any": [
            {"field": "value_tier", "op": "eq", "value": "A"}, {"field": "value_tier", "op": "eq", "value": "B"}]},
            now=now)
        add_suppressions(session, ["blocked@example.com"], channel="email", reason="asked by phone",
                         default_region="US", now=now)

        done = campaigns.create_campaign(session, name="Spring sale SMS", channel="sms",
                                         template_id=demo.sms_template_id, list_id=demo.list_id, now=now)
        done_run = campaigns.send_campaign(session, done.id, now=now, channel_description="scripted://tour",
                                           dry_run=False)
        running = campaigns.create_campaign(session, name="Weekend email", channel="email",
                                            template_id=demo.email_template_id, list_id=demo.list_id, now=now)
        campaigns.send_campaign(session, running.id, now=now, channel_description="scripted://tour", dry_run=False)
        scheduled = campaigns.create_campaign(session, name="Launch day", channel="sms",
                                              template_id=demo.sms_template_id, list_id=demo.list_id, now=now)
        set_campaign_schedule(session, scheduled.id, Schedule.from_dict(
            {"kind": "at", "send_at": f"{now.year + 1}-03-14T09:00", "time_zone": "Asia/Shanghai"},
            today=now.date()), now=now)
        schedule_campaign(session, scheduled.id, now=now)
        notice = create_event_notice(session, name="Gate change B2", channel="sms", template_id=demo.sms_template_id,
                                     list_id=demo.list_id, operational=True, now=now)
        campaigns.send_campaign(session, notice.id, now=now, channel_description="scripted://tour", dry_run=False)
        ids = {"contact": contact_id, "segment": segment.id, "draft": demo.campaign_id, "done": done.id,
               "running": running.id, "scheduled": scheduled.id, "notice": notice.id,
               "template": demo.sms_template_id}
        done_run_id = done_run.id

    # Deliver the completed campaign (only that run: the others stay running) and finish it.
    with database.session() as session:
        for message in session.scalars(select(Message).where(Message.run_id != done_run_id)):
            message.not_before = now + timedelta(days=30)  # keep them queued while the dispatcher runs
        session.commit()
    make_dispatcher(database, ScriptedChannel(), RealClock(), batch_size=500).dispatch_due()
    with database.session() as session:
        finish_idle_runs(session, [done_run_id], now=now)
        sent = session.scalars(select(Message).where(Message.run_id == done_run_id, Message.status == "sent")
                               .order_by(Message.id)).all()
        assert sent, "the completed campaign delivered nothing"
        first = sent[0]
        session.add(MessageEvent(message_id=first.id, type="clicked", occurred_at=now + timedelta(minutes=5),
                                 detail={"machine": False}))
        session.add(Conversion(contact_id=first.contact_id, order_id="T1", amount=Decimal("88.00"), currency="USD",
                               amount_base=Decimal("88.00"), occurred_at=now + timedelta(hours=1),
                               campaign_id=ids["done"], message_id=first.id, attribution="click", source="api",
                               created_at=now))
        session.commit()
        ids["message"] = first.id
        phone = session.get(Contact, first.contact_id).phone
        campaigns.record_reply(session, InboundSms("twilio", "SMtour1", phone, "+15005550006", "几点开门？"),
                               config=config.replies, default_region="US", now=now)
    return ids


@pytest.fixture
def config(tmp_path, db_url):
    """The test configuration plus a second email sender account, so Settings shows its Senders table."""
    (tmp_path / "config.toml").write_text(
        '[channels.email.senders.offers]\nfrom_address = "Shop Offers <offers@shop.example>"\nlabel = "Offers team"\n')
    return make_config(tmp_path, db_url)


@pytest.fixture
def tour_server(config, database) -> Iterator[tuple[str, dict[str, object]]]:
    ids = _seed(database, config)
    app = create_app(config, database=database)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="herald-tour-http", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{http.server_port}"
    ids["unsubscribe"] = unsubscribe_url("", str(config.secret_key), int(ids["message"]))  # type: ignore[arg-type]
    yield base, ids
    http.shutdown()
    thread.join(10)


def _pages(ids: dict[str, object]) -> list[tuple[str, str]]:
    return [
        ("dashboard", "/"),
        ("contacts", "/contacts"),
        ("contact", f"/contacts/{ids['contact']}"),
        ("contact-edit", f"/contacts/{ids['contact']}/edit"),
        ("contact-new", "/contacts/new"),
        ("import", "/contacts/import"),
        ("lists", "/lists"),
        ("segments", "/segments"),
        ("segment-new", "/segments/new"),
        ("segment-edit", f"/segments/{ids['segment']}"),
        ("templates", "/templates"),
        ("template-new-sms", "/templates/new?channel=sms"),
        ("template-new-email", "/templates/new?channel=email"),
        ("template-edit", f"/templates/{ids['template']}"),
        ("campaigns", "/campaigns"),
        ("campaign-new", "/campaigns/new"),
        ("campaign-new-notice", "/campaigns/new?kind=event_notice"),
        ("campaign-draft", f"/campaigns/{ids['draft']}"),
        ("campaign-scheduled", f"/campaigns/{ids['scheduled']}"),
        ("campaign-running", f"/campaigns/{ids['running']}"),
        ("campaign-completed", f"/campaigns/{ids['done']}"),
        ("campaign-notice", f"/campaigns/{ids['notice']}"),
        ("campaign-schedule", f"/campaigns/{ids['draft']}/schedule/edit"),
        ("campaign-tracking", f"/campaigns/{ids['draft']}/tracking"),
        ("campaign-experiment", f"/campaigns/{ids['draft']}/experiment"),
        ("report", f"/reports/campaigns/{ids['done']}"),
        ("reports-overview", "/reports"),
        ("inbox", "/inbox"),
        ("conversions", "/conversions"),
        ("settings", "/settings"),
        ("custom-fields", "/settings/custom-fields"),
        ("suppressions", "/settings/suppressions"),
        ("rate-plans", "/settings/rate-plans"),
        ("users", "/users"),
        ("preferences", str(ids["unsubscribe"])),
    ]


def _english_words(text: str) -> list[str]:
    return [word for word in re.findall(r"[A-Za-z]{2,}", text) if word not in BRAND]


def test_every_page_opens_cleanly_in_english_and_chinese(browser, tour_server, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    base, ids = tour_server
    shots = Path(os.environ.get("HERALD_TOUR_SHOTS") or tmp_path / "tour")
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    problems: list[str] = []
    where = {"page": "login"}
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"{where['page']}: console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.append(f"{where['page']}: script error: {exc}"))

    page.goto(base + "/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(base + "/")

    links: set[str] = set()
    for language in ("en", "zh_CN"):
        with page.expect_navigation():
            page.select_option("#lang-select", language)
        for name, path in _pages(ids):
            where["page"] = f"{language} {name}"
            response = page.goto(base + path)
            assert response is not None
            if response.status >= 400:
                problems.append(f"{where['page']}: HTTP {response.status} for {path}")
            page.wait_for_load_state("networkidle")
            if language == "zh_CN" and page.locator(".sidebar").count():
                # The menu, the footer line and the Log out button; crumbs hold names the user chose.
                chrome = " ".join(page.locator(selector).inner_text()
                                  for selector in (".sidebar .nav", ".sidebar-foot", "#logout-form"))
                if _english_words(chrome):
                    problems.append(f"{where['page']}: untranslated in the navigation: {_english_words(chrome)}")
                if re.search(r"\d/(second|minute|hour|day)", page.locator("main").inner_text()):
                    problems.append(f"{where['page']}: a send rate is shown untranslated (N/second)")
                if "计费条数" in chrome:  # the SMS billing count's word, once shared with the menu's Segments
                    problems.append(f"{where['page']}: the menu calls Segments 计费条数 (SMS billing segments)")
            if name == "segment-edit":  # the live preview answered: a sample, or a sentence saying none match
                expect(page.locator('[data-segment="count"]')).not_to_have_text("…")
                nobody = page.text_content('[data-segment="count"]').strip() == "0"
                if page.locator("#segment-sample-empty").is_visible() != nobody:
                    problems.append(f"{where['page']}: the preview's no-match sentence is wrong for the count")
            if name in REPORT_LINK:  # a report is offered once something was sent, not for a time still ahead
                campaign_id, expected = ids[REPORT_LINK[name][0]], REPORT_LINK[name][1]
                offered = page.locator(f'a[href="/reports/campaigns/{campaign_id}"]').count()
                if offered != expected:
                    problems.append(f"{where['page']}: {offered} links to the report, expected {expected}")
            if language == "en":
                links.update(page.eval_on_selector_all(
                    "a[href]:not([download])", "links => links.map(a => a.href)"))
            page.screenshot(path=str(shots / f"{language}-{name}.png"), full_page=True)

        # The import's mapping step needs an uploaded file.
        where["page"] = f"{language} import-columns"
        csv_path = tmp_path / "tour.csv"
        csv_path.write_text(CSV, encoding="utf-8")
        page.goto(base + "/contacts/import")
        page.set_input_files("#f-file", str(csv_path))
        page.click("form[enctype] button[type=submit]")
        page.wait_for_url(re.compile(r".*/contacts/import/[0-9a-f]{32}/columns$"))
        page.screenshot(path=str(shots / f"{language}-import-columns.png"), full_page=True)

    # Every link the pages offer leads somewhere (downloads aside: they are files, checked by their own tests).
    where["page"] = "links"
    for link in sorted(links):
        if link.startswith(base) and "#" not in link.removeprefix(base):
            status = page.request.get(link, max_redirects=0).status
            if status >= 400:
                problems.append(f"dead link: {link.removeprefix(base)} answers {status}")

    assert not problems, "\n".join(problems)
