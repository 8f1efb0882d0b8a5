"""Conversions: recorded once per order id, contacts found by any key, currencies converted, attribution rules
(explicit code, last click, last receipt, window edges, unattributable), and imports with bad rows."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from campaigns.models import Conversion
from campaigns.results.attribution import UnknownCurrency, to_base_currency
from campaigns.results.conversion_import import import_conversions
from campaigns.results.conversions import conversion_input, record_conversion, record_conversions
from core.errors import Invalid
from tests.campaigns import engagement_factories as f

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def record(session, now=T0 + timedelta(days=60), **values):
    values.setdefault("amount", "100")
    return record_conversion(session, values, f.SETTINGS, now=now)


def test_the_same_order_id_twice_is_one_conversion(session, backend):
    buyer = f.contact(session, now=T0)
    first, created = record(session, order_id="A-1", email=buyer.email, amount="25.50", occurred_at=T0.isoformat())
    again, created_again = record(session, order_id="A-1", email=buyer.email, amount="99", occurred_at=T0.isoformat())
    assert created and not created_again
    assert again.id == first.id and again.amount == Decimal("25.50")
    assert session.scalar(select(func.count()).select_from(Conversion)) == 1


def test_contact_is_found_by_external_id_email_or_phone(session, backend):
    buyer = f.contact(session, now=T0, external_id="VIP-7", email="li.na@example.com", phone="+8613800138000")
    by_id, _ = record(session, order_id="1", external_id="VIP-7")
    by_email, _ = record(session, order_id="2", email="LI.NA@Example.com")
    by_phone, _ = record(session, order_id="3", phone="+86 138 0013 8000")
    assert {by_id.contact_id, by_email.contact_id, by_phone.contact_id} == {buyer.id}


def test_unknown_contact_is_refused_naming_the_key(session):
    with pytest.raises(Invalid, match='no contact has email "nobody@example.com"'):
        record(session, order_id="X", email="nobody@example.com")


def test_foreign_currency_is_converted_to_the_workspace_currency(session):
    buyer = f.contact(session, now=T0)
    euro, _ = record(session, order_id="E1", email=buyer.email, amount="100.00", currency="eur")
    assert (euro.currency, euro.amount, euro.amount_base) == ("EUR", Decimal("100.00"), Decimal("110.00"))
    yuan, _ = record(session, order_id="C1", email=buyer.email, amount="¥1,288.00", currency="CNY")
    assert yuan.amount == Decimal("1288.00") and yuan.amount_base == Decimal("180.32")


def test_unknown_currency_is_refused_with_the_fix(session):
    buyer = f.contact(session, now=T0)
    with pytest.raises(Invalid) as info:
        record(session, order_id="J1", email=buyer.email, amount="1000", currency="JPY")
    assert 'currency "JPY" has no exchange rate' in info.value.message
    assert "[currency.rates]" in info.value.message and info.value.field == "currency"
    with pytest.raises(UnknownCurrency):
        to_base_currency(Decimal("1"), "GBP", base="USD", rates={})
    assert session.scalar(select(func.count()).select_from(Conversion)) == 0


@pytest.mark.parametrize(("values", "message"), [
    ({"amount": "12"}, "order_id is required"),
    ({"order_id": "1", "amount": "12"}, "give the contact's external_id, email or phone"),
    ({"order_id": "1", "email": "a@example.com", "amount": "twelve"}, 'amount "twelve" is not a number'),
    ({"order_id": "1", "email": "a@example.com", "amount": "-5"}, "must be 0 or more"),
    ({"order_id": "1", "email": "a@example.com", "amount": "5", "currency": "DOLLARS"}, "three-letter"),
    ({"order_id": "1", "email": "a@example.com", "amount": "5", "occurred_at": "yesterday"}, "is not a time"),
    ({"order_id": "1", "email": "a@example.com", "amount": "5", "occurred_at": "2027-01-01"}, "in the future"),
])
def test_bad_values_are_refused_naming_the_field(values, message):
    with pytest.raises(Invalid, match=message):
        conversion_input(values, f.SETTINGS, now=T0)


def test_times_without_a_zone_are_in_the_workspace_zone():
    settings = f.SETTINGS.__class__("CNY", {}, "Asia/Shanghai", "CN")
    row = conversion_input({"order_id": "1", "email": "a@example.com", "amount": "5",
                            "occurred_at": "2026-03-01 20:00"}, settings, now=T0)
    assert row.occurred_at == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# ---------------------------------------------------------------- attribution
def test_explicit_code_wins_over_a_later_click(session, backend):
    buyer = f.contact(session, now=T0)
    coded = f.campaign(session, now=T0, code="SPRING26")
    clicked = f.campaign(session, now=T0)
    sent = f.message(session, buyer, coded, sent_at=T0)
    later = f.message(session, buyer, clicked, sent_at=T0 + timedelta(days=1))
    f.event(session, later, "clicked", T0 + timedelta(days=1, hours=1), machine=False, url="https://shop.example")
    conversion, _ = record(session, order_id="O1", email=buyer.email, campaign_code="spring26",
                           occurred_at=(T0 + timedelta(days=2)).isoformat())
    assert (conversion.attribution, conversion.campaign_id, conversion.message_id) == ("code", coded.id, sent.id)


def test_a_code_used_by_a_held_out_contact_is_credited_without_a_message(session, backend):
    buyer = f.contact(session, now=T0)
    coded = f.campaign(session, now=T0, code="POSTER")
    f.message(session, buyer, coded, sent_at=None, status="held_out", due=T0)
    later = f.message(session, buyer, coded, sent_at=T0 + timedelta(days=5))  # after the purchase
    conversion, _ = record(session, order_id="O1", email=buyer.email, campaign_code="POSTER",
                           occurred_at=(T0 + timedelta(days=1)).isoformat())
    assert (conversion.attribution, conversion.campaign_id, conversion.message_id) == ("code", coded.id, None)
    assert later.id


def test_unknown_code_is_refused_not_guessed(session):
    buyer = f.contact(session, now=T0)
    with pytest.raises(Invalid, match='campaign code "NOPE" names no campaign'):
        record(session, order_id="O1", email=buyer.email, campaign_code="NOPE")


def test_last_click_beats_a_later_receipt_and_scanner_clicks_do_not_count(session, backend):
    buyer = f.contact(session, now=T0)
    first, second, third = (f.campaign(session, now=T0) for _ in range(3))
    m1 = f.message(session, buyer, first, sent_at=T0, delivered_at=T0 + timedelta(minutes=1))
    m2 = f.message(session, buyer, second, sent_at=T0 + timedelta(days=1))
    f.message(session, buyer, third, sent_at=T0 + timedelta(days=2), delivered_at=T0 + timedelta(days=2))
    f.event(session, m1, "clicked", T0 + timedelta(hours=5), machine=False)
    f.event(session, m2, "clicked", T0 + timedelta(days=1, seconds=3), machine=True)  # a link scanner
    conversion, _ = record(session, order_id="O1", email=buyer.email, occurred_at=(T0 + timedelta(days=3)).isoformat())
    assert (conversion.attribution, conversion.campaign_id, conversion.message_id) == ("click", first.id, m1.id)


def test_without_a_click_the_last_received_message_wins(session, backend):
    buyer = f.contact(session, now=T0)
    delivered, reported_nothing, failed = (f.campaign(session, now=T0) for _ in range(3))
    f.message(session, buyer, delivered, sent_at=T0, delivered_at=T0 + timedelta(minutes=2))
    sent_only = f.message(session, buyer, reported_nothing, sent_at=T0 + timedelta(days=1))
    f.message(session, buyer, failed, sent_at=T0 + timedelta(days=2), status="failed")
    conversion, _ = record(session, order_id="O1", phone=buyer.phone, occurred_at=(T0 + timedelta(days=3)).isoformat())
    assert (conversion.attribution, conversion.campaign_id, conversion.message_id) == (
        "receipt", reported_nothing.id, sent_only.id)


def test_window_edges_are_inclusive_and_per_campaign(session, backend):
    buyer = f.contact(session, now=T0)
    weekly = f.campaign(session, now=T0, window_days=7)
    message = f.message(session, buyer, weekly, sent_at=T0, delivered_at=T0)
    f.event(session, message, "clicked", T0, machine=False)
    at_edge, _ = record(session, order_id="edge", email=buyer.email, occurred_at=(T0 + timedelta(days=7)).isoformat())
    past_edge, _ = record(session, order_id="past", email=buyer.email,
                          occurred_at=(T0 + timedelta(days=7, seconds=1)).isoformat())
    before, _ = record(session, order_id="before", email=buyer.email,
                       occurred_at=(T0 - timedelta(seconds=1)).isoformat())
    assert (at_edge.attribution, at_edge.campaign_id) == ("click", weekly.id)
    assert (past_edge.attribution, past_edge.campaign_id) == ("none", None)
    assert (before.attribution, before.campaign_id) == ("none", None)

    monthly = f.campaign(session, now=T0, window_days=30)
    f.message(session, buyer, monthly, sent_at=T0 + timedelta(days=10))
    late, _ = record(session, order_id="late", email=buyer.email,
                     occurred_at=(T0 + timedelta(days=35)).isoformat())
    assert (late.attribution, late.campaign_id) == ("receipt", monthly.id)


def test_a_purchase_with_no_campaign_is_kept_unattributed(session):
    buyer = f.contact(session, now=T0)
    conversion, _ = record(session, order_id="walk-in", email=buyer.email, occurred_at=T0.isoformat())
    assert (conversion.attribution, conversion.campaign_id, conversion.message_id) == ("none", None, None)


def test_many_rows_land_in_batches_with_bad_ones_reported(session, backend):
    buyers = [f.contact(session, now=T0) for _ in range(3)]
    spring = f.campaign(session, now=T0)
    for buyer in buyers:
        f.message(session, buyer, spring, sent_at=T0, delivered_at=T0)
    bought = (T0 + timedelta(days=1)).isoformat()
    rows = [conversion_input({"order_id": f"B{i}", "email": buyers[i % 3].email, "amount": "10",
                              "occurred_at": bought}, f.SETTINGS, now=T0 + timedelta(days=2))
            for i in range(1200)]
    rows.append(rows[0])
    report = record_conversions(session, rows, f.SETTINGS, now=T0 + timedelta(days=2))
    assert (report.recorded, report.duplicates, report.rejected) == (1200, 1, [])
    assert report.attribution == {"code": 0, "click": 0, "receipt": 1200, "none": 0}


# ---------------------------------------------------------------- import
def test_csv_import_lands_good_rows_and_reports_bad_ones(session):
    buyer = f.contact(session, now=T0, external_id="K-1")
    csv = ("订单号,客户编号,金额,币种,下单时间,商品\n"
           "A1,K-1,88.00,CNY,2026-03-02 10:00,茶叶\n"
           "A2,K-404,10,USD,2026-03-02,Tea\n"
           "A3,K-1,abc,USD,2026-03-02,Tea\n"
           ",,,,,\n"
           "A4,K-1,5,XYZ,2026-03-02,Tea\n"
           "A1,K-1,88.00,CNY,2026-03-02 10:00,茶叶\n").encode("gb18030")
    report = import_conversions(session, io.BytesIO(csv), filename="orders.csv", settings=f.SETTINGS,
                                now=T0 + timedelta(days=5))
    assert (report.recorded, report.duplicates) == (1, 1)
    assert [(r.line, r.order_id) for r in report.rejected] == [(3, "A2"), (4, "A3"), (6, "A4")]
    reasons = [r.reason for r in report.rejected]
    assert 'no contact has external id "K-404"' in reasons[0]
    assert 'amount "abc" is not a number' in reasons[1]
    assert 'currency "XYZ" has no exchange rate' in reasons[2]
    stored = session.scalar(select(Conversion))
    assert (stored.contact_id, stored.product, stored.amount_base, stored.source) == (
        buyer.id, "茶叶", Decimal("12.32"), "import")


def test_xlsx_import_reads_date_cells(session):
    buyer = f.contact(session, now=T0)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["order_id", "email", "amount", "time"])
    sheet.append(["X1", buyer.email, 12.5, datetime(2026, 3, 2, 9, 30)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    report = import_conversions(session, buffer, filename="orders.xlsx", settings=f.SETTINGS,
                                now=T0 + timedelta(days=5))
    assert report.recorded == 1 and report.rejected == []
    stored = session.scalar(select(Conversion))
    assert stored.amount == Decimal("12.50") and stored.occurred_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_import_without_an_order_column_is_refused_before_anything_lands(session):
    with pytest.raises(Invalid, match="no column for order_id"):
        import_conversions(session, io.BytesIO(b"email,amount\na@example.com,5\n"), filename="x.csv",
                           settings=f.SETTINGS, now=T0)


def test_the_same_order_reported_at_once_by_many_requests_is_one_conversion(session, database, backend):
    from concurrent.futures import ThreadPoolExecutor

    buyer = f.contact(session, now=T0)
    email = buyer.email
    session.rollback()

    def report(_: int) -> tuple[int, bool]:
        with database.session() as own:
            conversion, created = record(own, order_id="RACE-1", email=email, amount="10")
            return conversion.id, created

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(report, range(12)))
    assert len({conversion_id for conversion_id, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1
    assert session.scalar(select(func.count()).select_from(Conversion)) == 1
