"""A scheduled firing applies the configured frequency cap ([caps] in config.toml), as a Send now does —
not FrequencyCap's built-in default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns import create_campaign, create_template
from campaigns.firing import fire_scheduled_campaign, schedule_campaign, set_campaign_schedule
from campaigns.schedules import Schedule
from core.clock import FrozenClock
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign
from tests.conftest import make_config


@pytest.mark.parametrize(("cap_messages", "status"), [
    ("1", "capped"),  # one SMS in the last week already: at a configured cap of one (the default is three)
    ("2", "pending"),
])
def test_a_scheduled_firing_uses_the_configured_frequency_cap(backend, tmp_path, db_url, session, database, channel,
                                                              cap_messages, status):
    config = make_config(tmp_path, db_url, HERALD_CAPS_MESSAGES=cap_messages, HERALD_CAPS_DAYS="7")
    assert (config.cap_messages, config.cap_days) == (int(cap_messages), 7)
    clock = FrozenClock(datetime(2027, 1, 10, 12, tzinfo=UTC))
    contact = make_contact(session, now=clock.now())
    start_campaign(session, now=clock.now())  # a marketing SMS the contact got today
    make_dispatcher(database, channel, clock).dispatch_due()
    assert len(channel.sent) == 1

    template = create_template(session, name="Weekly", channel="sms", body="Hi", now=clock.now())
    campaign = create_campaign(session, name="Weekly news", channel="sms", template_id=template.id, now=clock.now())
    schedule = Schedule.from_dict({"kind": "at", "send_at": "2027-01-12T09:00"}, today=clock.now().date())
    set_campaign_schedule(session, campaign.id, schedule, now=clock.now())
    schedule_campaign(session, campaign.id, now=clock.now())
    clock.advance(days=1, hours=21)  # 2027-01-12 09:00: the firing is due
    firing = fire_scheduled_campaign(session, campaign.id, config=config, now=clock.now())
    assert firing.run is not None and not firing.missed
    (row,) = messages_of(session, firing.run.id)
    assert (row.contact_id, row.status) == (contact.id, status)
    if status == "capped":
        assert row.error_code == "frequency_cap"
