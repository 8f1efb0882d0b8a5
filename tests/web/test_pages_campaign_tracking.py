"""A campaign's tracking and attribution settings: saved from its page, refused with the field and the fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.campaign_tracking import CampaignTracking, set_campaign_tracking
from campaigns.models import Campaign
from core.errors import Invalid
from tests.campaigns import engagement_factories as f

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_settings_are_saved_from_the_page(logged_in_client, session):
    campaign = f.campaign(session, now=T0)
    page = logged_in_client.get(f"/campaigns/{campaign.id}/tracking").get_data(as_text=True)
    assert 'name="attribution_window_days"' in page and 'value="7"' in page
    response = logged_in_client.post(f"/campaigns/{campaign.id}/tracking", data={
        "code": " SPRING26 ", "attribution_window_days": "14", "track_clicks": "1", "track_opens": "1",
        "utm_source": "herald", "utm_medium": "email", "utm_campaign": ""})
    assert response.status_code == 303
    session.expire_all()
    saved = session.get(Campaign, campaign.id)
    assert CampaignTracking.of(saved) == CampaignTracking("SPRING26", 14, True, True, "herald", "email", "")


@pytest.mark.parametrize(("data", "words"), [
    ({"attribution_window_days": "many"}, "whole number of days"),
    ({"attribution_window_days": "0"}, "from 1 to 90"),
    ({"attribution_window_days": "7", "code": "spring 26!"}, "letters, digits"),
    ({"attribution_window_days": "7", "code": "taken"}, 'already used by campaign'),
])
def test_bad_values_are_shown_next_to_the_field(logged_in_client, session, data, words):
    f.campaign(session, now=T0, code="TAKEN")
    campaign = f.campaign(session, now=T0)
    response = logged_in_client.post(f"/campaigns/{campaign.id}/tracking", data=data)
    assert response.status_code == 422 and words in response.get_data(as_text=True)


def test_codes_are_unique_ignoring_case(session):
    first, second = f.campaign(session, now=T0), f.campaign(session, now=T0)
    set_campaign_tracking(session, first.id, CampaignTracking(code="Spring26"), now=T0)
    with pytest.raises(Invalid, match='already used by campaign') as info:
        set_campaign_tracking(session, second.id, CampaignTracking(code="SPRING26"), now=T0)
    assert info.value.field == "code"
    set_campaign_tracking(session, first.id, CampaignTracking(code=""), now=T0)  # cleared: free again
    assert set_campaign_tracking(session, second.id, CampaignTracking(code="SPRING26"), now=T0).code == "SPRING26"


def test_a_list_is_made_a_topic_from_the_lists_page(logged_in_client, session):
    from audiences import ContactList

    news = ContactList(name="Newsletter", created_at=T0)
    session.add(news)
    session.commit()
    list_id = news.id  # read now: touching `news` after expire_all() would begin a transaction that locks SQLite
    page = logged_in_client.post(f"/lists/{list_id}/topic", data={"is_topic": "1"}, follow_redirects=True)
    assert "“Newsletter” is now a topic" in page.get_data(as_text=True)
    assert "Not a topic" in page.get_data(as_text=True)
    session.expire_all()
    assert session.get(ContactList, list_id).is_topic is True
    session.rollback()  # end the read: on SQLite it holds the write lock the app needs
    logged_in_client.post(f"/lists/{list_id}/topic", data={"is_topic": ""})
    session.expire_all()
    assert session.get(ContactList, list_id).is_topic is False
    session.rollback()
    assert logged_in_client.post("/lists/999/topic", data={"is_topic": "1"}).status_code in (302, 303, 404)
