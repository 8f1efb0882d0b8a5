"""The report pages write what the exports and the API write: no ROI for a notice, money with its currency's
decimals, times in the workspace's zone. A workspace in yen, in Shanghai."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from campaigns.models import Conversion
from tests.campaigns import engagement_factories as f
from tests.conftest import make_config

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path, db_url):
    return make_config(tmp_path, db_url, HERALD_CURRENCY="JPY", HERALD_DEFAULT_TIMEZONE="Asia/Shanghai")


def test_an_event_notice_shows_roi_as_not_applicable_not_as_a_loss(logged_in_client, database):
    with database.session() as session:
        notice = f.campaign(session, now=T0, channel="sms", kind="event_notice", name="Gate change")
        m = f.message(session, f.contact(session, now=T0), notice, sent_at=T0)
        m.cost, m.currency = Decimal("5"), "JPY"
        session.commit()
        notice_id = notice.id
    page = logged_in_client.get(f"/reports/campaigns/{notice_id}").get_data(as_text=True)
    roi = re.search(r'<div class="stat([^"]*)"[^>]*><div class="label">ROI</div><div class="value" data-report="roi">'
                    r'([^<]*)<', page)
    assert roi and roi.group(2) == "—" and "danger" not in roi.group(1)
    assert "not applicable: no revenue goal" in page and "-100" not in page and "−100" not in page
    csv_text = logged_in_client.get(f"/reports/campaigns/{notice_id}/summary.csv").get_data(as_text=True)
    assert "ROI,n/a" in csv_text
    overview = logged_in_client.get("/reports?from=2026-03-01&to=2026-03-03").get_data(as_text=True)
    assert re.search(rf'data-roi="{notice_id}"><span title="[^"]*no revenue goal[^"]*">—</span>', overview)


def test_yen_are_written_without_decimals_on_the_page_and_in_the_files(logged_in_client, database):
    with database.session() as session:
        sale = f.campaign(session, now=T0, channel="sms", name="Spring sale")
        buyer = f.contact(session, now=T0)
        m = f.message(session, buyer, sale, sent_at=T0)
        m.cost, m.currency = Decimal("3"), "JPY"
        session.add(Conversion(contact_id=buyer.id, order_id="J1", amount=Decimal("1234"), currency="JPY",
                               amount_base=Decimal("1234"), occurred_at=T0, campaign_id=sale.id, message_id=m.id,
                               attribution="receipt", source="api", created_at=T0))
        session.commit()
        sale_id = sale.id
    page = logged_in_client.get(f"/reports/campaigns/{sale_id}").get_data(as_text=True)
    assert re.search(r'data-report="revenue">[^<]*1,234<', page) and "1,234.00" not in page
    csv_text = logged_in_client.get(f"/reports/campaigns/{sale_id}/summary.csv").get_data(as_text=True)
    assert "Revenue,1234\r\n" in csv_text and "Cost,3\r\n" in csv_text


def test_the_chart_its_table_and_the_exports_speak_shanghai_time(logged_in_client, database, api_token, client):
    with database.session() as session:
        sale = f.campaign(session, now=T0, channel="sms", name="Spring sale", kind="recurring")
        m = f.message(session, f.contact(session, now=T0), sale, sent_at=T0)  # 09:00 UTC = 17:00 in Shanghai
        f.event(session, m, "clicked", datetime(2026, 3, 2, 16, 30, tzinfo=UTC), machine=False)  # 00:30 next day
        sale_id = sale.id
    page = logged_in_client.get(f"/reports/campaigns/{sale_id}").get_data(as_text=True)
    assert "2026-03-02 17" in page and "2026-03-03 00" in page and "2026-03-02 09" not in page
    assert "2026-03-02 17:00 UTC+08:00" in page  # the runs table
    assert 'data-report="time_zone">Asia/Shanghai<' in page
    csv_text = logged_in_client.get(f"/reports/campaigns/{sale_id}/series.csv").get_data(as_text=True)
    assert "2026-03-02 17,1,0,0,0" in csv_text and "2026-03-03 00,0,0,1,0" in csv_text
    api = client.get(f"/api/v1/campaigns/{sale_id}/report",
                     headers={"Authorization": f"Bearer {api_token()}"}).get_json()["series"]
    assert api["time_zone"] == "Asia/Shanghai" and [p["at"] for p in api["points"]] == ["2026-03-02 17",
                                                                                         "2026-03-03 00"]
    # the overview's days are Shanghai's: 1 March 20:00 UTC is already 2 March there
    with database.session() as session:
        late = f.campaign(session, now=T0, channel="sms", name="Late launch")
        f.message(session, f.contact(session, now=T0), late, sent_at=datetime(2026, 3, 1, 20, 0, tzinfo=UTC))
    one_day = logged_in_client.get("/reports?from=2026-03-02&to=2026-03-02").get_data(as_text=True)
    assert "Late launch" in one_day and "Spring sale" in one_day
    assert "Late launch" not in logged_in_client.get("/reports?from=2026-03-01&to=2026-03-01").get_data(as_text=True)
