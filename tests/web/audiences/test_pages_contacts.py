"""The contact page with every section, the edit form with typed custom fields, bulk actions from the
contacts page, and the custom field and suppression list settings."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import campaigns
from audiences import (
    Contact,
    ContactTag,
    add_contact_date,
    add_suppressions,
    consent_history,
    create_contact,
    create_custom_field,
    create_list,
    set_consent,
)
from campaigns.models import Conversion, Message, MessageEvent


@pytest.fixture
def ann(database, clock, make_user):
    """A contact with a value in every section: custom field, tag, list, date, consent change, a message."""
    now = clock.now()
    owner = make_user("marketer", "mia@example.com")
    with database.session() as session:
        create_custom_field(session, key="level", label="Membership level", type="choice", choices=["Gold", "Silver"],
                            now=now)
        create_custom_field(session, key="score", label="Score", type="number", now=now)
        contact = create_contact(session, default_region="US", now=now, email="ann@example.com", first_name="Ann",
                                 phone="+12015550101", region="Bavaria", lifecycle_stage="repeat", value_tier="A",
                                 source="trade fair", notes="Prefers SMS.", owner_id=owner.id,
                                 tags=["vip"], attributes={"level": "Gold", "score": "42", "city": "Munich"})
        add_contact_date(session, contact.id, kind="contract_renewal", when="2027-03-01", note="3-year deal")
        set_consent(session, contact.id, "email", "unsubscribed", source="unsubscribe link", now=now)
        template = campaigns.create_template(session, name="T", channel="sms", body="Hi", now=now)
        campaign = campaigns.create_campaign(session, name="Spring SMS", channel="sms", template_id=template.id,
                                             now=now)
        campaigns.send_campaign(session, campaign.id, now=now, channel_description="log://", dry_run=True)
        message = session.scalar(select(Message).where(Message.contact_id == contact.id))
        session.add(MessageEvent(message_id=message.id, type="delivered", occurred_at=now + timedelta(minutes=1),
                                 detail={"code": "DELIVRD"}))
        session.add(Conversion(contact_id=contact.id, order_id="A-7", amount=Decimal("120.00"), currency="USD",
                               amount_base=Decimal("120.00"), occurred_at=now + timedelta(days=1), product="Tea",
                               campaign_id=campaign.id, attribution="receipt", created_at=now))
        session.commit()
        return contact.id


def test_the_contact_page_shows_every_section(logged_in_client, ann):
    page = logged_in_client.get(f"/contacts/{ann}").get_data(as_text=True)
    for section in ("profile", "custom-fields", "lists", "dates", "consent", "timeline"):
        assert f'id="{section}"' in page, section
    assert "Bavaria" in page and "Repeat customer" in page and "Tier A" in page and "trade fair" in page
    assert "Prefers SMS." in page and "<dd>Marketer</dd>" in page  # owner
    assert "<dt>Membership level</dt>" in page and "<dd>Gold</dd>" in page and "<dd>42</dd>" in page
    assert "<dt>city</dt><dd>Munich</dd>" in page
    assert "Contract renewal" in page and "3-year deal" in page
    assert "unsubscribe link" in page  # consent history
    assert 'data-kind="message"' in page and 'data-kind="event"' in page and 'data-kind="conversion"' in page
    assert "Order A-7:" in page and "120.00" in page and "Spring SMS" in page
    assert "Not computed yet" in page  # RFM scores, read-only


def test_empty_sections_say_so(logged_in_client, database, clock):
    with database.session() as session:
        bare = create_contact(session, default_region="US", now=clock.now(), email="bare@example.com").id
    page = logged_in_client.get(f"/contacts/{bare}").get_data(as_text=True)
    for text in ("No custom fields.", "Not on any list.", "No important dates", "No consent changes yet",
                 "Nothing yet."):
        assert text in page, text


def test_the_edit_form_checks_typed_custom_fields_and_keeps_the_input(logged_in_client, ann, database):
    form = logged_in_client.get(f"/contacts/{ann}/edit").get_data(as_text=True)
    assert 'name="cf.score"' in form and 'type="number"' in form and '<option value="Gold" selected>' in form
    assert 'value="vip"' in form  # tags

    bad = logged_in_client.post(f"/contacts/{ann}/edit", data={
        "email": "ann@example.com", "cf.level": "Bronze", "cf.score": "lots", "tags": "vip", "attributes": ""})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "takes one of Gold, Silver" in page and "takes a number" in page and 'value="lots"' in page

    good = logged_in_client.post(f"/contacts/{ann}/edit", data={
        "email": "ann@example.com", "phone": "+12015550101", "cf.level": "silver", "cf.score": "43.5",
        "tags": "vip, fair", "value_tier": "B", "owner_id": "", "attributes": "", "previous_attributes": "city"})
    assert good.status_code == 303
    with database.session() as session:
        saved = session.get(Contact, ann)
        assert saved.attributes == {"level": "Silver", "score": 43.5}  # city was removed from the box
        assert (saved.value_tier, saved.owner_id) == ("B", None)


def test_dates_and_consent_are_changed_on_the_page(logged_in_client, ann, database):
    assert logged_in_client.post(f"/contacts/{ann}/dates", data={"kind": "membership", "date": "2020-02-02"}
                                 ).status_code == 303
    bad = logged_in_client.post(f"/contacts/{ann}/dates", data={"kind": "membership", "date": "someday"},
                                headers={"Referer": f"/contacts/{ann}"})
    assert bad.status_code == 303
    assert "is not a date" in logged_in_client.get(f"/contacts/{ann}").get_data(as_text=True)
    assert logged_in_client.post(f"/contacts/{ann}/consent", data={"channel": "email", "status": "subscribed"}
                                 ).status_code == 303
    with database.session() as session:
        latest = consent_history(session, ann)[0]
        assert (latest.status, latest.source) == ("subscribed", "changed by hand") and latest.changed_by


def test_bulk_actions_on_ticked_and_on_all_matching(logged_in_client, database, clock):
    with database.session() as session:
        ids = [create_contact(session, default_region="US", now=clock.now(), email=f"p{n}@example.com",
                              company="Acme" if n < 3 else "Other").id for n in range(5)]
        fair = create_list(session, "Fair").id
    page = logged_in_client.get("/contacts?q=p").get_data(as_text=True)
    assert "All 5 matching" in page and 'name="contact_id"' in page

    ticked = logged_in_client.post("/contacts/bulk", data={"action": "add_tag", "action_tag": "hot",
                                                           "contact_id": [str(ids[0]), str(ids[1])]})
    assert ticked.status_code == 303
    everyone = logged_in_client.post("/contacts/bulk", data={"action": "add_to_list", "list_id": str(fair),
                                                             "scope": "all", "q": "p"})
    assert "2 contacts added" not in logged_in_client.get(everyone.headers["Location"]).get_data(as_text=True)
    deleted = logged_in_client.post("/contacts/bulk", data={"action": "delete", "scope": "all", "tag": "hot",
                                                            "expected_count": "2"})
    after = logged_in_client.get(deleted.headers["Location"]).get_data(as_text=True)
    assert "2 contacts deleted." in after, re.findall(r"alert-\w+\" role=\"status\">([^<]*)", after)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 3
        assert session.scalar(select(func.count()).select_from(ContactTag)) == 0
    nothing = logged_in_client.post("/contacts/bulk", data={"action": "add_tag", "action_tag": "x"})
    assert "Tick the contacts to change first" in logged_in_client.get(nothing.headers["Location"]).get_data(
        as_text=True)


def test_an_analyst_sees_no_bulk_bar_and_may_not_post(client, login, database, clock):
    with database.session() as session:
        create_contact(session, default_region="US", now=clock.now(), email="a@example.com")
    login(client, "analyst")
    assert 'id="bulk-bar"' not in client.get("/contacts").get_data(as_text=True)
    assert client.post("/contacts/bulk", data={"action": "delete", "scope": "all", "expected_count": "1"}
                       ).status_code == 403


def test_custom_fields_are_defined_in_settings(logged_in_client, database):
    bad = logged_in_client.post("/settings/custom-fields", data={"key": "Level!", "label": "Level", "type": "text"})
    assert bad.status_code == 422 and "must start with a lowercase letter" in bad.get_data(as_text=True)
    made = logged_in_client.post("/settings/custom-fields", data={"key": "level", "label": "Level", "type": "choice",
                                                                 "choices": "Gold\nSilver"})
    assert made.status_code == 303
    page = logged_in_client.get("/settings/custom-fields").get_data(as_text=True)
    assert "<code>level</code>" in page and "Gold, Silver" in page
    assert 'name="cf.level"' in logged_in_client.get("/contacts/new").get_data(as_text=True)


def test_the_suppression_list_takes_pasted_addresses_and_reports_bad_ones(logged_in_client, database, clock):
    response = logged_in_client.post("/settings/suppressions", data={
        "addresses": "email\nann@example.com\n(201) 555-0101\nnot@", "reason": "complaint"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "2 added, 1 not understood" in page and "not@" in page
    listing = logged_in_client.get("/settings/suppressions").get_data(as_text=True)
    assert "ann@example.com" in listing and "+12015550101" in listing and "complaint" in listing
    with database.session() as session:
        add_suppressions(session, ["bob@example.com"], default_region="US", now=clock.now())
    found = logged_in_client.get("/settings/suppressions?q=bob").get_data(as_text=True)
    assert "bob@example.com" in found and "ann@example.com" not in found


def test_the_users_page_counts_the_contacts_each_user_owns(logged_in_client, ann, database):
    from core.users import find_user_by_email

    with database.session() as session:
        mia = find_user_by_email(session, "mia@example.com")
    page = logged_in_client.get("/users").get_data(as_text=True)
    assert f'href="/contacts?owner={mia.id}">1</a>' in page
    listed = logged_in_client.get(f"/contacts?owner={mia.id}").get_data(as_text=True)
    assert "ann@example.com" in listed


def test_a_contact_is_deleted_from_its_page(logged_in_client, ann, database):
    response = logged_in_client.post(f"/contacts/{ann}/delete")
    assert response.status_code == 303
    assert "Contact Ann deleted." in logged_in_client.get(response.headers["Location"]).get_data(as_text=True)
    with database.session() as session:
        assert session.get(Contact, ann) is None
