"""`herald campaigns reconcile ID` (issue 12, item 5), through the real parts: the CLI, the database, the
twilio SDK against the fake Twilio's list of messages, and Herald's web server taking Twilio's status
callbacks for the rows the reconciler found — so an at-most-once campaign ends with nothing lost to
`unknown` and nothing sent twice."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from audiences import Contact
from campaigns import Message, create_campaign, create_template, release_expired_leases, send_campaign
from campaigns.delivery.outbox import claim_due_messages
from campaigns.delivery.sender import send_until_idle
from core.clock import SystemClock


class HourLater(SystemClock):
    def now(self) -> datetime:
        return super().now() + timedelta(hours=1)


PHONES = ["+12055550101", "+12055550102", "+12055550103", "+12055550104"]


def test_reconcile_settles_a_campaigns_unknown_sms_and_twilios_callbacks_then_apply(
        backend, herald, database, e2e_config, fake_twilio, web_server):
    now = SystemClock().now()
    with database.session() as session:
        session.execute(insert(Contact), [
            {"phone": phone, "first_name": f"P{i}", "last_name": "", "company": "", "attributes": {},
             "created_at": now, "updated_at": now} for i, phone in enumerate(PHONES)])
        session.commit()
        template = create_template(session, name="t", channel="sms", body="Doors open at 9, {{ contact.first_name }}",
                                   now=now)
        campaign_id = create_campaign(session, name="fair", channel="sms", template_id=template.id,
                                      guarantee="at_most_once", now=now).id
        send_campaign(session, campaign_id, now=now, channel_description="twilio", dry_run=False)
    with database.session() as session:  # a sender claims one message and dies before handing it over
        claim_due_messages(session, now=SystemClock().now(), limit=1, lease_seconds=1)
        session.commit()
    time.sleep(1.1)
    with database.session() as session:
        release_expired_leases(session, now=SystemClock().now())
    fake_twilio.lose_answers(1, "drop")  # Twilio keeps the next one, and its answer never arrives
    send_until_idle(e2e_config, database, SystemClock())
    send_until_idle(e2e_config, database, HourLater())  # the rest of the batch, due again after a backoff
    with database.session() as session:
        assert Counter(session.scalars(select(Message.status))) == Counter({"sent": 2, "unknown": 2})

    out = herald("campaigns", "reconcile", str(campaign_id), "--settled-seconds", "0")
    assert out.strip().splitlines() == [
        f"campaign {campaign_id}: 1 found at the provider (now sent), 1 never received (failed), "
        "0 never received (sent again), 0 still unknown, 0 on a channel that cannot be asked",
        "  sms, asked through twilio: Twilio's message list, by To and DateSent, matched on the text: "
        "1 found (now sent), 1 never received (failed)"]

    assert fake_twilio.send_status_callbacks("delivered") == [204, 204, 204]  # one per message Twilio has
    report = json.loads(herald("report", str(campaign_id), "--format", "json"))
    assert (report["delivered"], report["failed"], report["unknown"]) == (3, 1, 0)
    assert sorted(fake_twilio.sent_to(phone) for phone in PHONES) == [0, 1, 1, 1]  # nothing sent twice
