"""How a report writes what it shows: ROI only where a campaign has a revenue goal, money with its currency's
decimals in every output, and times in the workspace's zone."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl

from campaigns.models import Conversion
from campaigns.results.report_campaign import campaign_report
from campaigns.results.report_export import report_csv, report_xlsx
from campaigns.results.report_mail import weekly_mail
from campaigns.results.report_numbers import money
from campaigns.results.report_overview import overview_report
from campaigns.results.report_settings import ReportSettings
from tests.campaigns import engagement_factories as f

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
USD = ReportSettings(currency="USD")


def _in(zone: str) -> ReportSettings:
    return ReportSettings(currency="USD", time_zone=zone)


def _summary_csv(report) -> dict[str, str]:
    return dict(list(csv.reader(io.StringIO(report_csv(report, "summary"))))[1:])


def _summary_xlsx(report) -> dict[str, object]:
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(report)))
    return {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_row=2)}


def _costly(session, campaign, n: int, cost: str) -> None:
    for _ in range(n):
        m = f.message(session, f.contact(session, now=T0), campaign, sent_at=T0)
        m.cost, m.currency = Decimal(cost), "USD"
    session.commit()


def test_an_event_notice_has_no_roi_rather_than_a_loss(backend, session):
    notice = f.campaign(session, now=T0, channel="sms", kind="event_notice", name="Gate change")
    operational = f.campaign(session, now=T0, channel="sms", operational=True, name="Order shipped")
    promotion = f.campaign(session, now=T0, channel="sms", name="Spring sale")
    for c in (notice, operational, promotion):
        _costly(session, c, 3, "0.05")
    for c in (notice, operational):
        report = campaign_report(session, c.id, USD)
        assert report.cost == Decimal("0.15") and report.roi is None and report.roi_note
        api = report.to_dict()
        assert api["summary"]["roi"] is None and api["roi_applicable"] is False and api["roi_note"]
        assert _summary_csv(report)["ROI"] == "n/a" and _summary_xlsx(report)["ROI"] == "n/a"
    promo = campaign_report(session, promotion.id, USD)
    assert promo.roi == Decimal("-1.0000") and promo.to_dict()["roi_applicable"] is True  # a real loss
    assert _summary_csv(promo)["ROI"] == "-1.0000"

    overview = overview_report(session, start=T0, end=datetime(2026, 3, 3, tzinfo=UTC), settings=USD)
    lines = {c.name: c.figures for c in overview.campaigns}
    assert lines["Gate change"].roi is None and lines["Order shipped"].roi is None
    assert lines["Spring sale"].roi == Decimal("-1.0000")
    rows = {r[0]: r for r in csv.reader(io.StringIO(report_csv(overview, "campaigns")))}
    assert rows["Gate change"][-1] == "n/a" and rows["Spring sale"][-1] == "-1.0000"
    kinds = {r[0]: r for r in csv.reader(io.StringIO(report_csv(overview, "kinds")))}
    assert kinds["event_notice"][-1] == "n/a"
    # the total's ROI is the promotions', not dragged down by the notices' cost
    assert overview.total.roi == Decimal("-1.0000") and overview.total.cost == Decimal("0.45")
    api = {c["name"]: c for c in overview.to_dict()["campaigns"]}
    assert api["Gate change"]["roi"] is None and api["Gate change"]["roi_applicable"] is False
    assert api["Spring sale"]["roi"] == "-1.0000" and api["Spring sale"]["roi_applicable"] is True
    mail = weekly_mail(overview, link="https://herald.example/reports")
    assert "ROI: -100.0%" in mail.text


def test_money_has_its_currencys_decimals_in_the_csv_xlsx_and_api(backend, session):
    promotion = f.campaign(session, now=T0, channel="sms", name="Spring sale")
    buyer = f.contact(session, now=T0)
    m = f.message(session, buyer, promotion, sent_at=T0)
    m.cost, m.currency = Decimal("0.0050"), "JPY"
    session.add(Conversion(contact_id=buyer.id, order_id="J1", amount=Decimal("1234"), currency="JPY",
                           amount_base=Decimal("1234"), occurred_at=T0, campaign_id=promotion.id, message_id=m.id,
                           attribution="receipt", source="api", created_at=T0))
    session.commit()
    report = campaign_report(session, promotion.id, ReportSettings(currency="JPY"))
    assert report.total.revenue == Decimal("1234")
    api = report.to_dict()
    assert api["summary"]["revenue"] == "1234" and api["cost"] == {"JPY": "0.005"}
    assert _summary_csv(report)["Revenue"] == "1234" and _summary_xlsx(report)["Revenue"] == 1234
    assert api["by_channel"][0]["revenue"] == "1234"
    usd = campaign_report(session, promotion.id, ReportSettings(currency="USD", rates={"JPY": Decimal("0.0067")}))
    assert usd.to_dict()["summary"]["revenue"] == "1234.00"  # the same figure, written as dollars


def test_money_rule_per_currency():
    assert [money(Decimal(v), c) for v, c in [("12.5", "CNY"), ("12.5", "EUR"), ("1234.50", "JPY"), ("1234", "JPY"),
                                              ("0.0079", "USD"), ("7.9000", "USD"), ("0.0050", "USD")]] == [
        "12.50", "12.50", "1234.5", "1234", "0.0079", "7.90", "0.005"]


# ---------------------------------------------------------------- times in the workspace's zone
def test_the_hourly_series_is_in_the_workspaces_hours_even_half_an_hour_off_utc(backend, session):
    sale = f.campaign(session, now=T0, channel="sms", name="Diwali")
    # 03:40 and 04:20 UTC are 09:10 and 09:50 in Kolkata (+05:30): one local hour, two UTC hours
    early = f.message(session, f.contact(session, now=T0), sale, sent_at=datetime(2026, 3, 2, 3, 40, tzinfo=UTC),
                      delivered_at=datetime(2026, 3, 2, 3, 41, tzinfo=UTC))
    f.message(session, f.contact(session, now=T0), sale, sent_at=datetime(2026, 3, 2, 4, 20, tzinfo=UTC))
    f.event(session, early, "clicked", datetime(2026, 3, 2, 4, 35, tzinfo=UTC), machine=False)  # 10:05 local
    report = campaign_report(session, sale.id, _in("Asia/Kolkata"))
    assert report.series == {"2026-03-02 09": {"sent": 2, "delivered": 1, "clicked": 0, "conversions": 0},
                             "2026-03-02 10": {"sent": 0, "delivered": 0, "clicked": 1, "conversions": 0}}
    rows = list(csv.reader(io.StringIO(report_csv(report, "series"))))
    assert rows[1] == ["2026-03-02 09", "2", "1", "0", "0"] and rows[2][0] == "2026-03-02 10"
    assert report.to_dict()["series"]["time_zone"] == "Asia/Kolkata"
    assert list(campaign_report(session, sale.id, USD).series) == ["2026-03-02 03", "2026-03-02 04"]  # in UTC


def test_the_hour_a_dst_change_repeats_is_two_hours_in_time_order(backend, session):
    sale = f.campaign(session, now=T0, channel="sms", name="Fall back")
    # New York, 2026-11-01: 01:30 EDT (05:30 UTC), then 01:30 EST (06:30 UTC), then 02:10 EST (07:10 UTC)
    for at in (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
               datetime(2026, 11, 1, 6, 40, tzinfo=UTC), datetime(2026, 11, 1, 7, 10, tzinfo=UTC)):
        f.message(session, f.contact(session, now=T0), sale, sent_at=at)
    report = campaign_report(session, sale.id, _in("America/New_York"))
    assert [(hour, point["sent"]) for hour, point in report.series.items()] == [
        ("2026-11-01 01 -04:00", 1), ("2026-11-01 01 -05:00", 2), ("2026-11-01 02", 1)]


def test_runs_overview_and_weekly_mail_use_the_workspaces_days(backend, session):
    birthday = f.campaign(session, now=T0, channel="sms", name="Birthday", kind="date_rule")
    # 18:30 UTC on 1 March is 02:30 on 2 March in Shanghai
    f.message(session, f.contact(session, now=T0), birthday, sent_at=datetime(2026, 3, 1, 18, 30, tzinfo=UTC))
    report = campaign_report(session, birthday.id, _in("Asia/Shanghai"))
    runs = list(csv.reader(io.StringIO(report_csv(report, "runs"))))
    assert runs[1][2] == "2026-03-02 02:30 UTC+08:00"
    assert list(csv.reader(io.StringIO(report_csv(campaign_report(session, birthday.id, USD), "runs"))))[1][2] == \
        "2026-03-01 18:30 UTC"

    # a campaign started 28 Feb 18:00 UTC = 1 March 02:00 in Shanghai: March's, not February's
    march = f.campaign(session, now=T0, channel="sms", name="March")
    f.message(session, f.contact(session, now=T0), march, sent_at=datetime(2026, 2, 28, 18, 0, tzinfo=UTC))
    overview = overview_report(session, start=datetime(2026, 2, 1, tzinfo=UTC), end=datetime(2026, 4, 1, tzinfo=UTC),
                               settings=_in("Asia/Shanghai"))
    months = [r[0] for r in csv.reader(io.StringIO(report_csv(overview, "months")))][1:]
    assert months == ["2026-03"]
    started = {r[0]: r[4] for r in csv.reader(io.StringIO(report_csv(overview, "campaigns")))}
    assert started["March"] == "2026-03-01" and started["Birthday"] == "2026-03-02"


def test_the_weekly_mail_covers_the_workspaces_last_seven_days(backend, session):
    from campaigns.results.report_mail import send_weekly_report
    from core.users import User
    from tests.campaigns.factories import ScriptedChannel

    session.add(User(email="boss@shop.example", name="Boss", password_hash="x", role="analyst", created_at=T0))
    session.commit()
    now = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Monday 17:00 in Shanghai: last week is 9–15 November
    inside = f.campaign(session, now=T0, channel="sms", name="Sunday night")  # 15 Nov 20:00 UTC = Monday 04:00
    f.message(session, f.contact(session, now=T0), inside, sent_at=datetime(2026, 11, 15, 20, 0, tzinfo=UTC))
    early = f.campaign(session, now=T0, channel="sms", name="Monday small hours")  # 8 Nov 18:00 UTC = 9 Nov 02:00
    f.message(session, f.contact(session, now=T0), early, sent_at=datetime(2026, 11, 8, 18, 0, tzinfo=UTC))
    channel = ScriptedChannel()
    assert send_weekly_report(session, channel, emails=["boss@shop.example"], now=now,
                              settings=_in("Asia/Shanghai"), base_url="https://herald.example") == (1, 0)
    text = channel.sent[0].body
    assert "2026-11-09 – 2026-11-15" in text and "from=2026-11-09&to=2026-11-15" in text
    assert "Monday small hours" in text and "Sunday night" not in text
