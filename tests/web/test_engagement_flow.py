"""One story through the real parts: an email goes out with a tracked link, the person clicks it in a browser,
the shop reports the purchase through the API, and the purchase is credited to the campaign by that click."""

from __future__ import annotations

import re
from datetime import timedelta

from campaigns import Template
from tests.campaigns import engagement_factories as f
from tests.campaigns.factories import ScriptedChannel, make_dispatcher
from tests.web.test_api import Api

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def test_sent_clicked_bought_credited(client, api_token, session, database, config, clock, backend):
    buyer = f.contact(session, now=clock.now() - timedelta(days=30))
    campaign = f.campaign(session, now=clock.now(), utm_source="herald", utm_campaign="spring")
    template = session.get(Template, campaign.template_id)
    template.html = '<p>Spring sale</p><a href="https://shop.example/spring">Shop now</a>'
    session.commit()
    message = f.message(session, buyer, campaign, sent_at=None, due=clock.now())
    channel = ScriptedChannel()
    make_dispatcher(database, channel, clock, base_url=config.base_url, secret_key=str(config.secret_key),
                    tracking=config.tracking).dispatch_due()
    [sent] = channel.sent
    tracked = re.search(r'href="([^"]+)"', sent.html).group(1)
    assert tracked.startswith(config.base_url + "/l/")

    clock.advance(hours=2)  # read over lunch: a person, not a scanner
    response = client.get(tracked[len(config.base_url):], headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://shop.example/spring?utm_source=herald&utm_campaign=spring"

    bought = (clock.now() + timedelta(days=1)).isoformat()
    clock.advance(days=2)
    answer = Api(client, api_token("marketer")).post("/conversions", json={
        "order_id": "WEB-1", "email": buyer.email, "amount": "59.00", "occurred_at": bought})
    assert answer.status_code == 201
    assert (answer.json["attribution"], answer.json["campaign_id"], answer.json["message_id"]) == (
        "click", campaign.id, message.id)
