"""The conversions page: totals by rule, the latest purchases, importing a file with bad rows, RFM on demand."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy import select

from audiences import Contact
from tests.campaigns import engagement_factories as f


def test_import_shows_what_landed_and_each_bad_row(logged_in_client, session):
    buyer = f.contact(session, now=datetime(2025, 1, 1, tzinfo=UTC), email="mei@example.com", first_name="Mei")
    f.campaign(session, now=datetime(2025, 1, 1, tzinfo=UTC), code="SPRING26")
    data = ("订单号,邮箱,金额,活动代码\nA1,mei@example.com,88.00,SPRING26\nA2,mei@example.com,oops,\n"
            "A3,ghost@example.com,5,\n").encode()
    response = logged_in_client.post("/conversions/import", data={"file": (io.BytesIO(data), "orders.csv")},
                                     content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-count="recorded">1<' in page and 'data-count="rejected">2<' in page
    assert 'amount &#34;oops&#34; is not a number' in page or 'amount "oops" is not a number' in page
    assert "no contact has email" in page
    assert 'data-rule="code">1<' in page and "A1" in page and buyer.name in page


def test_a_file_that_cannot_be_read_is_shown_next_to_the_field(logged_in_client):
    response = logged_in_client.post("/conversions/import", data={"file": (io.BytesIO(b"email,amount\nx,1\n"),
                                                                           "o.csv")},
                                     content_type="multipart/form-data")
    assert response.status_code == 422 and "no column for order_id" in response.get_data(as_text=True)


def test_rfm_button_recomputes_and_says_what_it_did(logged_in_client, session):
    session.add(Contact(email="old@example.com", created_at=datetime(2020, 1, 1, tzinfo=UTC),
                        updated_at=datetime(2020, 1, 1, tzinfo=UTC)))
    session.commit()
    response = logged_in_client.post("/conversions/rfm", follow_redirects=True)
    assert response.status_code == 200
    assert "RFM scores computed for 0 buying contacts; 1 contacts became dormant." in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Contact.lifecycle_stage)) == "dormant"


def test_an_analyst_sees_the_page_but_cannot_import(client, login):
    login(client, role="analyst")
    page = client.get("/conversions").get_data(as_text=True)
    assert "Latest purchases" in page and "Import purchases" not in page
    assert client.post("/conversions/rfm").status_code == 403
