"""Send a test: to one's own address and the seed list, as the contact chosen, through the outbox at once."""

from __future__ import annotations

import pytest

from campaigns import add_seed_address, list_seed_addresses, remove_seed_address, send_test_message
from campaigns.content.templates import create_template
from campaigns.models import Message, Run
from core.errors import Conflict, Invalid, NotFound
from tests.campaigns.factories import make_contact, make_dispatcher

BODY = "【赫拉德】{{ contact.first_name }}，中秋快乐！回复TD退订"


def test_a_test_goes_to_the_address_and_the_seed_list_once_each_with_the_contacts_data(session, database, config,
                                                                                          clock, channel):
    contact = make_contact(session, now=clock.now(), first_name="芳")
    template = create_template(session, name="中秋", channel="sms", body=BODY, now=clock.now())
    add_seed_address(session, channel="sms", address="13800138001", label="店长", region="CN", now=clock.now())
    add_seed_address(session, channel="sms", address="+8613800138002", region="CN", now=clock.now())
    with pytest.raises(Conflict, match=r"\+8613800138001 is already on the sms seed list"):
        add_seed_address(session, channel="sms", address="+86 138 0013 8001", region="CN", now=clock.now())

    sent = send_test_message(session, config=config, now=clock.now(), template_id=template.id, contact_id=contact.id,
                             addresses=["+8613800138002", "+8613800138009"], include_seeds=True)
    assert sent.addresses == ("+8613800138002", "+8613800138009", "+8613800138001")  # each once
    rows = [session.get(Message, mid) for mid in sent.message_ids]
    assert {r.contact_id for r in rows} == {contact.id} and {r.priority for r in rows} == {10}
    assert len({r.run_id for r in rows}) == 3 and session.get(Run, rows[0].run_id).campaign_id == sent.campaign_id
    session.commit()  # end the read: SQLite's write lock is the sender's
    make_dispatcher(database, channel, clock).dispatch_due()
    assert sorted(m.to for m in channel.sent) == sorted(sent.addresses)
    assert {m.body for m in channel.sent} == {"【赫拉德】芳，中秋快乐！回复TD退订"}  # unmarked: segments as sent


def test_a_test_needs_an_address_a_contact_and_a_real_template(session, config, clock):
    template = create_template(session, name="T", channel="email", subject="Hi", html="<p>Hi</p>", now=clock.now())
    with pytest.raises(Invalid, match="no contacts yet"):
        send_test_message(session, config=config, now=clock.now(), template_id=template.id, addresses=["a@b.example"])
    make_contact(session, now=clock.now())
    with pytest.raises(Invalid, match="write an email address") as caught:
        send_test_message(session, config=config, now=clock.now(), template_id=template.id, addresses=[" "])
    assert caught.value.field == "addresses"
    with pytest.raises(Invalid, match='test address "not-an-address"'):
        send_test_message(session, config=config, now=clock.now(), template_id=template.id,
                          addresses=["not-an-address"])
    with pytest.raises(Invalid, match="at most 20 addresses"):
        send_test_message(session, config=config, now=clock.now(), template_id=template.id,
                          addresses=[f"me{n}@example.com" for n in range(21)])
    with pytest.raises(NotFound, match="template 999"):
        send_test_message(session, config=config, now=clock.now(), template_id=999, addresses=["me@example.com"])


def test_a_seed_address_is_listed_by_channel_and_removed(session, clock):
    seed = add_seed_address(session, channel="email", address="Boss@Example.com", region="CN", now=clock.now())
    assert [s.address for s in list_seed_addresses(session, channel="email")] == ["boss@example.com"]
    assert list_seed_addresses(session, channel="sms") == []
    remove_seed_address(session, seed.id)
    assert list_seed_addresses(session) == []
    with pytest.raises(NotFound):
        remove_seed_address(session, seed.id)
