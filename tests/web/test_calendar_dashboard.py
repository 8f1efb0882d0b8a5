"""The calendar page (a month of sends, navigation, today, links, English and 简体中文) and the dashboard's next
sends and first-steps checklist."""

from __future__ import annotations

import io
import re

from campaigns import create_campaign, create_template, schedule_campaign, set_campaign_schedule
from campaigns.schedules import Schedule
from tests.web.test_api import Api


def _schedule_member_day(database, clock, *, send_at="2026-01-20T10:00"):
    with database.session() as session:
        template = create_template(session, name="Hi", channel="sms", body="Hi", now=clock.now())
        campaign = create_campaign(session, name="Member day", channel="sms", template_id=template.id,
                                   now=clock.now())
        set_campaign_schedule(session, campaign.id, Schedule.from_dict(
            {"kind": "at", "send_at": send_at, "time_zone": "UTC"}, today=clock.now().date()), now=clock.now())
        schedule_campaign(session, campaign.id, now=clock.now())
        return campaign.id


def _import(api):
    csv = b"phone,name\n+12015550101,Ann\n+12015550102,Bob\n"
    api.post("/contacts/import", data={"file": (io.BytesIO(csv), "m.csv")}, content_type="multipart/form-data")


def test_the_calendar_shows_the_month_with_today_each_send_linked_and_navigation(logged_in_client, api_token,
                                                                               database, clock):
    _import(Api(logged_in_client, api_token("marketer")))
    campaign_id = _schedule_member_day(database, clock)  # the clock says 2026-01-05
    html = logged_in_client.get("/calendar").get_data(as_text=True)
    assert 'id="calendar-title">January 2026<' in html
    assert re.search(r'class="calendar-day today"[^>]*data-day="2026-01-05"[^>]*aria-current="date"', html)
    day = html[html.index('data-day="2026-01-20"'):]
    day = day[:day.index("</td>")]
    assert f'href="/campaigns/{campaign_id}"' in day and "Member day" in day and "2 recipients" in day
    assert "10:00" in day and 'data-total' in day
    assert 'href="/calendar?month=2025-12"' in html and 'href="/calendar?month=2026-02"' in html
    february = logged_in_client.get("/calendar?month=2026-02").get_data(as_text=True)
    assert "February 2026" in february and "Member day" not in february
    assert 'class="calendar-day today"' not in february
    assert logged_in_client.get("/calendar?month=nonsense").status_code == 200  # this month instead
    logged_in_client.post("/language", data={"locale": "zh_CN"})
    chinese = logged_in_client.get("/calendar").get_data(as_text=True)
    assert "2026年1月" in chinese and "周一" in chinese and "今天" in chinese and "2 位收件人" in chinese


def test_the_dashboard_shows_what_goes_out_next(logged_in_client, api_token, database, clock):
    _import(Api(logged_in_client, api_token("marketer")))
    campaign_id = _schedule_member_day(database, clock)
    html = logged_in_client.get("/").get_data(as_text=True)
    table = html[html.index('id="next-sends"'):]
    table = table[:table.index("</table>")]
    assert f'href="/campaigns/{campaign_id}"' in table and ">2</td>" in table


def test_first_steps_are_ticked_as_they_are_done_and_hidden_when_all_are(logged_in_client, api_token, database, clock):
    def steps() -> dict[str, str]:
        html = logged_in_client.get("/").get_data(as_text=True)
        return {key: state for state, key in re.findall(r'<li class="(done|todo)" data-step="(\w+)"', html)}

    assert steps() == {"channel": "todo", "contacts": "todo", "template": "todo", "sent": "todo"}
    api = Api(logged_in_client, api_token("marketer"))
    _import(api)
    template = api.post("/templates", json={"name": "T", "channel": "sms", "body": "Hi"}).json
    assert steps() == {"channel": "todo", "contacts": "done", "template": "done", "sent": "todo"}
    assert logged_in_client.post("/first-steps/dry-run").status_code == 303  # the test channels are log://
    assert steps()["channel"] == "done"
    campaign = api.post("/campaigns", json={"name": "C", "channel": "sms", "template_id": template["id"]}).json
    api.post(f"/campaigns/{campaign['id']}/send")
    html = logged_in_client.get("/").get_data(as_text=True)
    assert 'id="first-steps"' not in html  # all done: the checklist is gone
