"""The bounce mailbox, read over real IMAP and POP3 (tests/fakes/fake_mailbox.py) by the scheduled job.

Understood messages (bounce reports, signed List-Unsubscribe mail) are applied and deleted; anything
else is left for a person.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from audiences import Consent
from campaigns.delivery.outgoing import list_unsubscribe
from campaigns.models import Message
from channels import ChannelConfigError
from channels.mailbox import open_mailbox
from scheduler import jobs
from tests.campaigns.factories import make_contact, start_campaign
from tests.conftest import make_config
from tests.fakes.certs import TestPki
from tests.fakes.fake_mailbox import FakeMailbox

DSN = Path(__file__).resolve().parent.parent.parent / "channels" / "dsn"
SECRET = "mailbox-test-secret"


def consent(session, contact_id: int) -> str | None:
    session.expire_all()
    return session.scalar(select(Consent.status).where(Consent.contact_id == contact_id, Consent.channel == "email"))


def unsubscribe_mail(message_id: int, secret: str = SECRET) -> bytes:
    header = list_unsubscribe("https://h.example/u", "unsubscribe@shop.example", secret, message_id)
    subject = header.split("subject=")[1].rstrip(">").replace("%20", " ")
    return (f"From: Someone Else <someone@elsewhere.example>\r\nTo: unsubscribe@shop.example\r\n"
            f"Subject: {subject}\r\n\r\n\r\n").encode()


@pytest.mark.parametrize("protocol", ["imap", "imaps", "pop3", "pop3s"])
def test_the_job_applies_reports_and_unsubscribes_and_leaves_the_rest(protocol, tmp_path, db_url, database, session,
                                                                       clock):
    now = clock.now()
    gone = make_contact(session, now=now, email="gone@example.com", phone=None)
    ann = make_contact(session, now=now, email="ann@example.com", phone=None)
    full = make_contact(session, now=now, email="full@example.com", phone=None)
    _, run = start_campaign(session, now=now, channel="email")
    sent = {m.contact_id: m for m in session.scalars(select(Message).where(Message.run_id == run.id))}
    for message in sent.values():
        message.status, message.sent_at = "sent", now
    session.commit()
    inbox = [
        (DSN / "hard_5_1_1.eml").read_text().replace("{message_id}", str(sent[gone.id].id)).encode(),
        (DSN / "soft_4_2_2.eml").read_text().replace("{message_id}", str(sent[full.id].id)).encode(),
        unsubscribe_mail(sent[ann.id].id),
        (DSN / "complaint_arf.eml").read_text().replace("{message_id}", str(sent[ann.id].id)).encode(),
        unsubscribe_mail(sent[full.id].id, secret="a-guess"),  # forged: unsubscribes nobody, stays
        b"From: boss@shop.example\r\nSubject: Out of office\r\n\r\n.Back on Monday.\r\n",
    ]
    tls = TestPki(tmp_path).server_context() if protocol.endswith("s") else None
    with FakeMailbox(protocol.rstrip("s"), messages=inbox, tls_context=tls) as box:
        url = box.url + (f"?cafile={tmp_path / 'ca.pem'}" if tls else "")
        config = make_config(tmp_path, db_url, HERALD_BOUNCES_MAILBOX_URL=url, HERALD_SECRET_KEY=SECRET)
        jobs.bind(jobs.JobContext(config, database, clock))
        try:
            outcome = jobs.read_bounce_mailbox()
            again = jobs.read_bounce_mailbox()
        finally:
            jobs.bind(None)
        left = [m.raw for m in box.messages]
    assert outcome == "read 6, understood 4, left 2"
    assert again == ("read 0, understood 0, left 0" if protocol.startswith("imap")  # unseen only
                     else "read 2, understood 0, left 2")
    assert len(left) == 2 and b"Out of office" in left[1]
    assert consent(session, gone.id) == "bounced"
    assert consent(session, ann.id) == "complained"  # unsubscribed by mail, then the spam complaint
    assert consent(session, full.id) is None  # a delay, and a forged unsubscribe


def test_a_wrong_password_is_reported_and_nothing_is_lost(tmp_path, db_url, database, clock):
    with FakeMailbox("imap", messages=[b"Subject: x\r\n\r\nx\r\n"]) as box:
        config = make_config(tmp_path, db_url, HERALD_BOUNCES_MAILBOX_URL=box.url.replace("mailbox-pw", "wrong"))
        jobs.bind(jobs.JobContext(config, database, clock))
        try:
            assert jobs.read_bounce_mailbox() == "unavailable"
        finally:
            jobs.bind(None)
        assert len(box.messages) == 1


@pytest.mark.parametrize(("url", "words"), [
    ("https://user:pw@mail.example.com", "use imaps://"),
    ("imaps://mail.example.com/INBOX", "needs a host and a user"),
    ("imaps://u:pw@mail.example.com/INBOX?starttls=1", "TLS already"),
    ("pop3s://u:pw@mail.example.com?limit=0", "limit="),
])
def test_a_mailbox_url_that_cannot_work_names_the_fix(url, words):
    with pytest.raises(ChannelConfigError, match=words) as refused:
        open_mailbox(url)
    assert ":pw@" not in str(refused.value)  # the password is masked
