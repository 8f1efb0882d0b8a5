"""In a real browser: the campaign form's "When" part shows only the chosen kind's fields; a birthday rule in
each recipient's zone is created, scheduled, fires, and its page lists the next firings and the run."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from audiences import Contact
from campaigns import fire_due_campaign
from campaigns.schedules import ScheduleDefaults
from tests.web.test_browser import browser, config, server  # noqa: F401 - the same fixtures

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("HERALD_SCREENSHOTS", "")) if os.environ.get("HERALD_SCREENSHOTS") else None


def test_a_birthday_rule_is_made_scheduled_and_shows_its_firings_and_runs(browser, server, database, tmp_path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1360, "height": 900})

    def shoot(name: str) -> None:
        page.screenshot(path=str((SHOTS or tmp_path) / f"{name}.png"), full_page=True)

    page.goto(server + "/setup")
    page.fill("#f-name", "Lin Mei")
    page.fill("#f-email", "lin@example.com")
    page.fill("#f-password", "a long password")
    page.fill("#f-password_again", "a long password")
    page.click("text=Create administrator and start")
    page.wait_for_url(server + "/")
    with database.session() as session:
        session.add_all([
            Contact(first_name="雷", last_name="李", phone="+8613800138001", time_zone="Asia/Shanghai",
                    birthday=date(1990, 3, 14), attributes={}),
            Contact(first_name="Mary", last_name="Smith", phone="+12015550104", time_zone="America/New_York",
                    birthday=date(1985, 3, 14), attributes={}),
        ])
        session.commit()
    page.goto(server + "/templates/new?channel=sms")
    page.fill("#f-name", "Birthday")
    page.fill("#f-body", "Happy birthday, {{ contact.first_name }}!")
    page.click("#template-editor button[type=submit]")
    page.wait_for_url(lambda url: "/templates/new" not in url)

    page.goto(server + "/campaigns/new")
    assert page.is_hidden("#f-s_cron") and page.is_hidden("#f-s_time_of_day")
    page.check("input[name=when][value=recurring]")
    assert page.is_visible("#f-s_cron") and page.is_hidden("#f-s_time_of_day")
    page.check("input[name=when][value=date_rule]")
    assert page.is_visible("#f-s_time_of_day") and page.is_hidden("#f-s_cron")
    page.fill("#f-name", "Birthday greetings")
    page.select_option("#f-template_id", label="Birthday")
    page.select_option("#f-s_zone_mode", "recipient")
    shoot("h5-01-form-date-rule")
    page.click("form#campaign-form button[type=submit]")
    page.wait_for_selector("#schedule")
    assert page.locator("#next-firings tbody tr").count() == 10
    shoot("h5-02-campaign-draft-schedule")
    page.click("#edit-schedule")
    assert page.is_visible("#f-s_time_of_day") and page.input_value("#f-s_zone_mode") == "recipient"
    shoot("h5-02b-change-schedule")
    page.click("#schedule-form button[type=submit]")
    page.wait_for_selector("#arm-schedule")
    page.click("#arm-schedule")
    page.wait_for_selector("text=Scheduled: the scheduler fires it")
    campaign_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    with database.session() as session:
        fired = fire_due_campaign(session, campaign_id, now=datetime(2027, 3, 13, 19, tzinfo=UTC),
                                  channel_description="log://test", dry_run=True, defaults=ScheduleDefaults())
        assert fired.run is not None and fired.run.occasion_key == "date:2027-03-14"
    page.reload()
    assert "date:2027-03-14" in page.text_content("#runs")
    shoot("h5-03-campaign-scheduled-runs")
