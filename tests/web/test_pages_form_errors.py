"""A form sent with a mistake comes back with the typed values kept and the mistake named at its field."""

from __future__ import annotations

import re

import campaigns


def test_a_timed_campaign_without_a_time_says_the_time_is_missing_and_keeps_the_form(logged_in_client, database,
                                                                                      clock):
    with database.session() as session:
        template_id = campaigns.create_template(session, name="T", channel="sms", body="hi", now=clock.now()).id
    response = logged_in_client.post("/campaigns/new", data={
        "name": "Spring launch", "channel": "sms", "kind": "broadcast", "template_id": str(template_id),
        "when": "at", "send_at": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = re.findall(r'class="field-error"[^>]*>([^<]*)<', html)
    assert any("date and time to send is missing" in error for error in errors), errors
    assert not any('"None"' in error for error in errors)
    assert 'value="Spring launch"' in html
