"""Report pages: the campaign report with its charts, exports, print view, fixed costs and A/B winner;
the overview for a period. The page, the CSV, the XLSX and the API show the same numbers."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import openpyxl

import campaigns
from campaigns.ab_test import VariantSpec, set_ab_test
from campaigns.models import CampaignVariant, Conversion, Message, MessageEvent
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, messages_of


def _sent_campaign(database, clock):
    """20 contacts, 10% holdout, variants A/B tested on half the audience, one click and one conversion."""
    now = clock.now()
    with database.session() as session:
        for _ in range(20):
            make_contact(session, now=now)
        main = campaigns.create_template(session, name="Main", channel="sms", body="Main", now=now)
        a = campaigns.create_template(session, name="A", channel="sms", body="A text", now=now)
        b = campaigns.create_template(session, name="B", channel="sms", body="B text", now=now)
        campaign = campaigns.create_campaign(session, name="Autumn <sale>", channel="sms", template_id=main.id, now=now)
        set_ab_test(session, campaign.id, variants=[VariantSpec("A", a.id), VariantSpec("B", b.id)], test_percent=50,
                    metric="click_rate", holdout_percent=10)
        run = campaigns.send_campaign(session, campaign.id, now=now, channel_description="scripted://test",
                                      dry_run=False)
        campaign_id = campaign.id
    make_dispatcher(database, ScriptedChannel(), clock, batch_size=100).dispatch_due()
    with database.session() as session:
        sent = [m for m in messages_of(session, run.id) if m.status == "sent"]
        session.add(MessageEvent(message_id=sent[0].id, type="clicked", occurred_at=now + timedelta(minutes=5),
                                 detail={"machine": False}))
        session.add(Conversion(contact_id=sent[0].contact_id, order_id="W1", amount=Decimal("88.00"), currency="USD",
                               amount_base=Decimal("88.00"), occurred_at=now + timedelta(hours=1),
                               campaign_id=campaign_id, message_id=sent[0].id, attribution="click", source="api",
                               created_at=now))
        session.commit()
    return campaign_id


def test_the_campaign_report_page_exports_and_api_agree(logged_in_client, database, clock, api_token, client):
    campaign_id = _sent_campaign(database, clock)
    page = logged_in_client.get(f"/reports/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Autumn &lt;sale&gt;" in page and "<svg" in page and "chart-funnel" in page and "chart-series" in page
    assert re.search(r'data-report="clicked">1<', page) and re.search(r'data-report="conversions">1<', page)
    assert "$88.00" in page and "not significant" in page and "Send the winner to the rest now" in page

    summary = list(csv.reader(io.StringIO(
        logged_in_client.get(f"/reports/campaigns/{campaign_id}/summary.csv").get_data(as_text=True).lstrip("\ufeff"))))
    figures = dict(summary[1:])
    book = openpyxl.load_workbook(io.BytesIO(logged_in_client.get(f"/reports/campaigns/{campaign_id}.xlsx").data))
    sheet = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_row=2)}
    api = client.get(f"/api/v1/campaigns/{campaign_id}/report",
                     headers={"Authorization": f"Bearer {api_token()}"}).get_json()
    for key, label in (("sent", "Sent"), ("held_out", "Held out"), ("waiting", "Waiting for the A/B winner"),
                       ("clicked", "Clicked"), ("conversions", "Conversions")):
        assert str(api["summary"][key]) == figures[label] == str(sheet[label])
        assert re.search(rf'data-report="{key}">{api["summary"][key]}<', page) or key in ("waiting", "conversions")
    assert figures["Revenue"] == api["summary"]["revenue"] == "88.00" == str(Decimal(str(sheet["Revenue"])).quantize(
        Decimal("0.01")))
    assert logged_in_client.get(f"/reports/campaigns/{campaign_id}/nosuch.csv").status_code in (302, 303, 404)

    printed = logged_in_client.get(f"/reports/campaigns/{campaign_id}/print").get_data(as_text=True)
    assert "sidebar" not in printed and "@media print" not in printed
    assert "data-print" in printed and "onclick" not in printed  # the CSP blocks inline handlers
    assert "report.css" in printed


def test_fixed_costs_are_added_on_the_report_and_count_in_the_cost(logged_in_client, database, clock):
    campaign_id = _sent_campaign(database, clock)
    response = logged_in_client.post(f"/reports/campaigns/{campaign_id}/costs",
                                     data={"label": "Gifts", "amount": "12.50", "currency": "USD"})
    assert response.status_code == 303
    page = logged_in_client.get(f"/reports/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Gifts" in page and "$12.50" in page
    bad = logged_in_client.post(f"/reports/campaigns/{campaign_id}/costs", data={"label": "X", "amount": "lots"},
                                follow_redirects=True).get_data(as_text=True)
    assert "is not a number" in bad


def test_the_winner_is_chosen_by_hand_and_sent_to_the_rest(logged_in_client, database, clock):
    campaign_id = _sent_campaign(database, clock)
    with database.session() as session:
        waiting = session.query(Message).filter_by(campaign_id=campaign_id, status="waiting").count()
    assert waiting > 0
    response = logged_in_client.post(f"/reports/campaigns/{campaign_id}/winner", data={"variant_id": ""})
    assert response.status_code == 303
    with database.session() as session:
        assert session.query(Message).filter_by(campaign_id=campaign_id, status="waiting").count() == 0
        assert session.query(Message).filter_by(campaign_id=campaign_id, status="pending").count() == waiting
        clicked = session.query(Message).join(MessageEvent, MessageEvent.message_id == Message.id).filter(
            MessageEvent.type == "clicked").one()
        winner = session.query(CampaignVariant).filter_by(campaign_id=campaign_id, winner=True).one()
        assert winner.id == clicked.variant_id  # the only click decides the click rate
    page = logged_in_client.get(f"/reports/campaigns/{campaign_id}").get_data(as_text=True)
    assert f"Winner: {winner.label}" in page
    again = logged_in_client.post(f"/reports/campaigns/{campaign_id}/winner", data={"variant_id": ""},
                                  follow_redirects=True).get_data(as_text=True)
    assert "already has its winner" in again


def test_the_overview_lists_the_periods_campaigns_and_exports_them(logged_in_client, database, clock):
    _sent_campaign(database, clock)
    day = clock.now().date()
    page = logged_in_client.get(f"/reports?from={day}&to={day}").get_data(as_text=True)
    assert "Autumn &lt;sale&gt;" in page and "Dormant contacts reactivated" in page
    empty = logged_in_client.get(f"/reports?from={day + timedelta(days=1)}&to={day + timedelta(days=2)}")
    assert "No campaigns in this period" in empty.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(logged_in_client.get(f"/reports/overview/campaigns.csv?from={day}&to={day}")
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][0] == "Autumn <sale>" and rows[1][-3] == "88.00"
    book = openpyxl.load_workbook(io.BytesIO(logged_in_client.get(f"/reports/overview.xlsx?from={day}&to={day}").data))
    assert {"Campaigns", "By channel", "By kind", "By month"} <= set(book.sheetnames)
    bad = logged_in_client.get("/reports?from=yesterday", follow_redirects=True).get_data(as_text=True)
    assert "YYYY-MM-DD" in bad


def test_the_experiment_page_saves_holdout_and_variants_and_names_mistakes(logged_in_client, database, clock):
    now = clock.now()
    with database.session() as session:
        a = campaigns.create_template(session, name="Version A", channel="sms", body="A", now=now)
        b = campaigns.create_template(session, name="Version B", channel="sms", body="B", now=now)
        campaign = campaigns.create_campaign(session, name="Split", channel="sms", template_id=a.id, now=now)
        campaign_id, a_id, b_id = campaign.id, a.id, b.id
    url = f"/campaigns/{campaign_id}/experiment"
    assert "Version B" in logged_in_client.get(url).get_data(as_text=True)
    assert "Holdout and A/B test" in logged_in_client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    bad = logged_in_client.post(url, data={"holdout_percent": "60", "template_0": a_id, "template_1": b_id})
    assert bad.status_code == 422 and "hold out 0 to 50%" in bad.get_data(as_text=True)
    one = logged_in_client.post(url, data={"holdout_percent": "10", "template_0": a_id})
    assert one.status_code == 422 and "2 to 5 variants" in one.get_data(as_text=True)
    saved = logged_in_client.post(url, data={"holdout_percent": "10", "label_0": "A", "template_0": a_id,
                                             "weight_0": "1", "label_1": "B", "template_1": b_id, "weight_1": "3",
                                             "test_percent": "20", "metric": "conversion_rate", "wait_hours": "6"})
    assert saved.status_code == 303
    with database.session() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        assert (campaign.holdout_percent, campaign.ab_test_percent, campaign.ab_metric, campaign.ab_wait_hours) == (
            10, 20, "conversion_rate", 6)
        assert [(v.label, v.weight) for v in session.query(CampaignVariant).order_by(CampaignVariant.id)] == [
            ("A", 1), ("B", 3)]


def test_rate_plans_are_added_and_ended_in_settings(logged_in_client):
    assert "No rate plans yet" in logged_in_client.get("/settings/rate-plans").get_data(as_text=True)
    assert "Rate plans" in logged_in_client.get("/settings").get_data(as_text=True)
    bad = logged_in_client.post("/settings/rate-plans", data={"channel": "sms", "country_prefix": "86",
                                                              "unit_price": "0.05", "currency": "CNY"})
    assert bad.status_code == 422 and "must look like +86" in bad.get_data(as_text=True)
    ok = logged_in_client.post("/settings/rate-plans", data={
        "channel": "sms", "country_prefix": "+86", "unit_price": "0.05", "currency": "CNY",
        "monthly_free_quota": "2000", "effective_from": "2026-01-01"})
    assert ok.status_code == 303
    page = logged_in_client.get("/settings/rate-plans").get_data(as_text=True)
    assert "+86" in page and "2,000" in page and "End now" in page
    plan_id = re.search(r'/settings/rate-plans/(\d+)/end', page).group(1)
    assert logged_in_client.post(f"/settings/rate-plans/{plan_id}/end").status_code == 303
    assert "End now" not in logged_in_client.get("/settings/rate-plans").get_data(as_text=True)


def test_a_duplicate_address_is_counted_on_the_page_in_the_funnel_and_the_exports(logged_in_client, database, clock):
    now = clock.now()
    with database.session() as session:
        for phone in ("+8613800138000", "+8613800138000", "+8613800138001"):
            make_contact(session, now=now, phone=phone)
        template = campaigns.create_template(session, name="T", channel="sms", body="Hi", now=now)
        campaign_id = campaigns.create_campaign(session, name="Twice", channel="sms", template_id=template.id,
                                                now=now).id
        campaigns.send_campaign(session, campaign_id, now=now, channel_description="scripted://test", dry_run=False)
    make_dispatcher(database, ScriptedChannel(), clock).dispatch_due()

    page = logged_in_client.get(f"/reports/campaigns/{campaign_id}").get_data(as_text=True)
    assert re.search(r'data-report="duplicate">1<', page) and re.search(r'data-report="sent">2<', page)
    summary = dict(list(csv.reader(io.StringIO(logged_in_client.get(
        f"/reports/campaigns/{campaign_id}/summary.csv").get_data(as_text=True).lstrip("\ufeff"))))[1:])
    assert summary["Duplicate address"] == "1"
    funnel = dict(list(csv.reader(io.StringIO(logged_in_client.get(
        f"/reports/campaigns/{campaign_id}/funnel.csv").get_data(as_text=True).lstrip("\ufeff"))))[1:])
    assert (funnel["Audience"], funnel["Reachable"], funnel["Sent"]) == ("3", "2", "2")


def test_an_ab_report_after_the_rollout_keeps_the_test_and_shows_the_rollout_row(logged_in_client, database, clock,
                                                                                 api_token, client):
    from tests.campaigns.results.test_report_ab_rollout import rolled_out_ab_campaign

    with database.session() as session:
        campaign, before, *_ = rolled_out_ab_campaign(session, database, clock)
        campaign_id = campaign.id
    assert before.ab.difference.p_value < 5e-7
    page = logged_in_client.get(f"/reports/campaigns/{campaign_id}").get_data(as_text=True)
    assert "significant at 95%" in page and "Variant B leads." in page
    assert re.search(r'data-report="p_value">p &lt; 0.000001<', page) and "p = 0.000" not in page
    assert "B (rollout)" in page
    api = client.get(f"/api/v1/campaigns/{campaign_id}/report",
                     headers={"Authorization": f"Bearer {api_token()}"}).get_json()["ab_test"]
    assert api["leader"] == "B" and api["significant"] is True and api["difference"]["p_value"] > 0
    assert api["difference"]["p_value_text"] == "< 0.000001"
