"""In a real browser: build a segment from nested AND/OR rules, watch the count and the per-rule effect change,
save it, export it as CSV, freeze it into a list. Screenshots go to the test's tmp directory."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from audiences import import_contacts
from core.users import create_user
from tests.web.test_browser import browser, config, server  # noqa: F401 - the same served app and chromium

pytestmark = pytest.mark.browser

# The served app runs on the real clock, so Ann's birthday is set three days from today.
SOON = (datetime.now(UTC) + timedelta(days=3)).date()
PEOPLE = (
    "email,name,等级,标签,生日,备注\n"
    f"ann@example.com,Ann Lee,A,VIP,1992-{SOON:%m-%d},=HYPERLINK(\"http://x\")\n"
    "bob@example.com,王芳,A,\"VIP,展会\",,\n"
    "cat@example.com,Cat Wu,B,展会,,\n"
    "dan@example.com,Dan,C,,,\n"
    "eve@example.com,Eve,B,VIP,,\n"
)
PASSWORD = "a long password"


@pytest.fixture
def marketer(database, clock):
    with database.session() as session:
        create_user(session, email="admin@example.com", password=PASSWORD, role="admin", name="Admin")  # no setup
        create_user(session, email="lin@example.com", password=PASSWORD, role="marketer", name="Lin")
        import_contacts(session, io.BytesIO(PEOPLE.encode()), filename="p.csv", default_region="US", now=clock.now())


def test_a_marketer_builds_saves_and_exports_a_segment(browser, server, marketer, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = browser.new_page(viewport={"width": 1360, "height": 900}, accept_downloads=True)

    def shoot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(server + "/login")
    page.fill("#f-email", "lin@example.com")
    page.fill("#f-password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(server + "/")

    page.goto(server + "/segments")
    page.click("#new-segment")
    count = page.locator('[data-segment="count"]')
    expect(count).to_have_text("5")  # no rules yet: everyone
    shoot("01-empty-segment")

    # Tier is one of A, B: the first condition the editor offers is the value tier.
    page.click('#segment-builder [data-add="condition"]')
    first = page.locator(".segment-condition").nth(0)
    first.locator("select.segment-op").select_option("in")
    first.locator("select.segment-value").select_option(["A", "B"])
    expect(count).to_have_text("4")

    # … and (tag VIP, or a birthday within 7 days) as a nested "any" group.
    page.locator('#segment-builder > .segment-group > .segment-actions [data-add="group"]').click()
    group = page.locator(".segment-group .segment-group").first
    group.locator('[data-add="condition"]').click()
    tag_rule = group.locator(".segment-condition").nth(0)
    tag_rule.locator("select.segment-field").select_option("tag")
    tag_rule.locator("input.segment-value").fill("VIP")
    expect(count).to_have_text("3")  # ann, bob, eve
    group.locator('[data-add="condition"]').click()
    birthday_rule = group.locator(".segment-condition").nth(1)
    birthday_rule.locator("select.segment-field").select_option("birthday")
    birthday_rule.locator("select.segment-op").select_option("birthday_within_days")
    birthday_rule.locator("input.segment-value").fill("7")
    expect(count).to_have_text("3")
    group.locator("select.segment-kind").select_option("all")  # now VIP *and* a birthday soon: only Ann
    expect(count).to_have_text("1")
    assert "ann@example.com" in page.text_content("#segment-sample")
    expect(page.locator('[data-effect="rules.all[1]"]')).to_contain_text("3")  # the group excludes 3
    shoot("02-segment-built")

    # A bad value is named, not saved: an empty tag list.
    tag_rule.locator("input.segment-value").fill("")
    expect(page.locator("#segment-error")).to_contain_text("rules.all[1].all[0].value")
    expect(count).to_have_text("—")
    shoot("03-segment-error")
    tag_rule.locator("input.segment-value").fill("VIP")
    expect(count).to_have_text("1")

    page.fill("#f-name", "VIP A/B with a birthday soon")
    page.click("#save-segment")
    page.wait_for_url(re.compile(r".*/segments/\d+$"))
    assert "saved" in page.text_content(".flashes")
    expect(count).to_have_text("1")
    assert page.locator(".segment-condition").count() == 3  # the saved tree comes back as it was built
    shoot("04-segment-saved")

    page.check('#export-form input[value="notes"]')
    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert rows[0][:4] == ["id", "name", "email", "phone"] and "notes" in rows[0]
    assert [row[2] for row in rows[1:]] == ["ann@example.com"]
    assert rows[1][rows[0].index("notes")] == "'=HYPERLINK(\"http://x\")"  # neutralised

    page.fill("#f-list_name", "Birthday VIPs")
    page.click("#freeze-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/contacts\?list=\d+$"))
    assert "1" in page.text_content(".flashes")
    shoot("05-frozen-list")

    # The list of segments, in Chinese.
    page.goto(server + "/segments")
    with page.expect_navigation():
        page.select_option("#lang-select", "zh_CN")
    page.goto(server + "/segments/new")
    expect(count).to_have_text("5")
    shoot("06-segment-editor-zh")


def test_a_list_named_like_markup_is_only_a_name_in_the_editor(browser, server, marketer, database, clock):  # noqa: F811
    """Issue 11, hole 1: the catalogue is data; the hostile name shows as text and injects no element."""
    from playwright.sync_api import expect

    from audiences import add_to_list, create_list, find_contacts_by_keys

    hostile = "</script><input hidden name=role value=admin><button formaction=/users>x</button>"
    with database.session() as session:
        made = create_list(session, hostile, now=clock.now())
        ann = find_contacts_by_keys(session, external_ids=(), emails=("ann@example.com",), phones=())[0]
        add_to_list(session, made.id, [ann["id"]], now=clock.now())
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/login")
    page.fill("#f-email", "admin@example.com")
    page.fill("#f-password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(server + "/")

    page.goto(server + "/segments/new")
    count = page.locator('[data-segment="count"]')
    expect(count).to_have_text("5")
    assert page.locator('input[name="role"], [formaction]').count() == 0
    page.click('#segment-builder [data-add="condition"]')
    rule = page.locator(".segment-condition").nth(0)
    rule.locator("select.segment-field").select_option("list")
    rule.locator("select.segment-op").select_option("in")
    rule.locator("select.segment-value").select_option(str(made.id))
    expect(rule.locator("select.segment-value option").first).to_have_text(hostile)
    expect(count).to_have_text("1")
    assert page.locator('input[name="role"], [formaction]').count() == 0
    assert errors == []
