"""The Inbox's two-way part in pages: the waiting count on the menu, answering from a row and from the
conversation, assigning, handling, canned replies kept by admins, and who may not be answered."""

from __future__ import annotations

import re

from sqlalchemy import select

from audiences import create_contact
from campaigns import record_reply, save_canned_reply
from campaigns.models import Message
from channels.inbound import InboundSms

_sids = iter(range(1, 10_000))


def reply(database, config, clock, number: str, body: str) -> int:
    with database.session() as session:
        return record_reply(session, InboundSms("twilio", f"SMp{next(_sids)}", number, "+15005550006", body),
                            config=config.replies, default_region="US", now=clock.now()).reply_id


def contact(database, clock, phone: str, name: str, owner_id: int | None = None) -> int:
    with database.session() as session:
        return create_contact(session, default_region="US", now=clock.now(), phone=phone, first_name=name,
                              owner_id=owner_id).id


def test_a_question_waits_on_the_menu_until_it_is_answered_from_its_inbox_row(client, login, database, config,
                                                                               clock):
    login(client, "marketer")
    ann = contact(database, clock, "+12015550101", "Ann")
    reply_id = reply(database, config, clock, "+12015550101", "Do you deliver to Pudong?")

    page = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'id="inbox-waiting"[^>]*>1<', page)  # the menu, on every page
    assert 'id="inbox-waiting"' in client.get("/contacts").get_data(as_text=True)
    assert "Do you deliver to Pudong?" in client.get("/inbox?status=waiting&q=pudong").get_data(as_text=True)

    response = client.post(f"/inbox/contacts/{ann}/answer", data={
        "reply_id": str(reply_id), "text": "Yes, next day.", "back": "/inbox?status=waiting"})
    assert response.status_code == 303 and response.headers["Location"] == "/inbox?status=waiting"
    with database.session() as session:
        message = session.scalars(select(Message)).one()
        assert (message.body, message.address, message.status) == ("Yes, next day.", "+12015550101", "pending")
    page = client.get("/inbox").get_data(as_text=True)
    assert 'id="inbox-waiting"' not in page
    thread = client.get(f"/inbox/contacts/{ann}").get_data(as_text=True)
    assert thread.index("Do you deliver to Pudong?") < thread.index("Yes, next day.")
    assert "Handled" in thread


def test_a_conversation_is_assigned_handled_and_opened_again(client, login, make_user, database, config, clock):
    owner = make_user("marketer", "owner@example.com")
    login(client, "marketer")
    bob = contact(database, clock, "+12015550102", "Bob", owner_id=owner.id)
    reply(database, config, clock, "+12015550102", "Where is my parcel?")

    page = client.get(f"/inbox/contacts/{bob}").get_data(as_text=True)
    assert re.search(rf'<option value="{owner.id}" selected>', page)  # the contact's owner, by default
    assert client.post(f"/inbox/contacts/{bob}/assign", data={"assignee_id": ""}).status_code == 303
    assert "nobody" in client.get("/inbox").get_data(as_text=True)
    refused = client.post(f"/inbox/contacts/{bob}/assign", data={"assignee_id": "99999"}, follow_redirects=True)
    assert "is not an active Herald user" in refused.get_data(as_text=True)

    client.post(f"/inbox/contacts/{bob}/handled", data={"handled": "1"})
    assert 'id="inbox-waiting"' not in client.get("/inbox").get_data(as_text=True)
    client.post(f"/inbox/contacts/{bob}/handled", data={"handled": "0"})
    assert 'id="inbox-waiting"' in client.get("/inbox").get_data(as_text=True)


def test_admins_keep_canned_replies_and_staff_pick_them_when_answering(client, login, database, config, clock):
    login(client, "admin")
    ann = contact(database, clock, "+12015550101", "Ann")
    reply(database, config, clock, "+12015550101", "Opening hours?")
    assert client.post("/inbox/canned", data={"title": "Opening hours", "body": "10:00–18:00 daily"}).status_code == 303
    assert client.post("/inbox/canned", data={"title": "Opening hours", "body": "x"}).status_code == 422
    page = client.get(f"/inbox/contacts/{ann}").get_data(as_text=True)
    assert 'data-body="10:00–18:00 daily"' in page and "inbox.js" in page
    assert 'data-canned-for="text-' in client.get("/inbox").get_data(as_text=True)


def test_only_admins_manage_canned_replies(client, login, database, clock):
    with database.session() as session:
        save_canned_reply(session, title="Hours", body="10-18", now=clock.now())
    login(client, "marketer")
    assert client.get("/inbox/canned").status_code == 403
    assert client.post("/inbox/canned", data={"title": "x", "body": "y"}).status_code == 403


def test_a_contact_who_texted_stop_cannot_be_answered_and_the_page_says_why(client, login, database, config, clock):
    login(client, "marketer")
    ann = contact(database, clock, "+12015550101", "Ann")
    reply(database, config, clock, "+12015550101", "How much?")
    reply(database, config, clock, "+12015550101", "退订")
    page = client.get(f"/inbox/contacts/{ann}").get_data(as_text=True)
    assert "texted STOP" in page and "disabled" in page
    response = client.post(f"/inbox/contacts/{ann}/answer", data={"text": "99 yuan"})
    assert response.status_code == 422 and "texted STOP" in response.get_data(as_text=True)


def test_the_conversation_page_is_translated(client, login, database, config, clock):
    login(client, "marketer")
    ann = contact(database, clock, "+8613800138001", "芳")
    reply(database, config, clock, "+8613800138001", "会员日几点开始？")
    client.post("/language", data={"locale": "zh_CN"})
    page = client.get(f"/inbox/contacts/{ann}").get_data(as_text=True)
    assert "发送回复" in page and "等待处理" in page and "会话" in page
    assert "等待我处理" in client.get("/inbox").get_data(as_text=True)
