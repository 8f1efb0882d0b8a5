"""Saving a template that gives marketing recipients no way out warns at once, and a marketing campaign using it says
so before it is sent (issue 15): an SMS without 回复TD退订 / Reply STOP, an email without the unsubscribe link."""

from __future__ import annotations

import html

import campaigns

SMS_WARNING = "This SMS tells readers no way to opt out."
EMAIL_WARNING = "This email has no unsubscribe link."


def _flashes(client, response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    return html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))


def test_saving_an_sms_without_opt_out_wording_warns_and_with_it_does_not(logged_in_client):
    page = _flashes(logged_in_client, logged_in_client.post("/templates/new?channel=sms", data={
        "name": "会员日", "body": "【花店】会员日全场8折"}))
    assert "saved" in page and SMS_WARNING in page and "回复TD退订" in page
    page = _flashes(logged_in_client, logged_in_client.post("/templates/new?channel=sms", data={
        "name": "会员日 2", "body": "【花店】会员日全场8折，回复TD退订"}))
    assert "saved" in page and SMS_WARNING not in page


def test_saving_an_email_without_the_unsubscribe_link_warns(logged_in_client):
    page = _flashes(logged_in_client, logged_in_client.post("/templates/new?channel=email", data={
        "name": "Offer", "subject": "20% off", "html": "<p>Shop now</p>"}))
    assert EMAIL_WARNING in page
    page = _flashes(logged_in_client, logged_in_client.post("/templates/new?channel=email", data={
        "name": "Offer 2", "subject": "20% off",
        "html": '<p>Shop now</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>'}))
    assert EMAIL_WARNING not in page


def test_a_marketing_campaign_warns_before_sending_and_an_event_notice_does_not(logged_in_client, database, clock):
    with database.session() as session:
        bare = campaigns.create_template(session, name="Bare", channel="sms", body="Member day 20% off",
                                         now=clock.now())
        marketing = campaigns.create_campaign(session, name="Member day", channel="sms", template_id=bare.id,
                                              now=clock.now())
        notice = campaigns.create_event_notice(session, name="Gate change", channel="sms", template_id=bare.id,
                                               now=clock.now())
    page = html.unescape(logged_in_client.get(f"/campaigns/{marketing.id}").get_data(as_text=True))
    assert 'id="opt-out-warning"' in page and SMS_WARNING in page
    page = html.unescape(logged_in_client.get(f"/campaigns/{notice.id}").get_data(as_text=True))
    assert 'id="opt-out-warning"' not in page
