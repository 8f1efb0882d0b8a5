"""Sign-up forms with double opt-in: a visitor is pending until the address's owner confirms (email link, SMS
code, "reply Y"), the confirmation goes through the outbox to the SMTP fake, the consent keeps its evidence,
and a known address gets the same answer as a new one without its contact changing before confirmation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from audiences import (
    add_suppressions,
    consent_history,
    contact_lists,
    create_contact,
    create_custom_field,
    create_list,
    current_consents,
    get_contact,
)
from campaigns import create_campaign, create_template, list_campaigns, list_templates, record_reply, send_campaign
from campaigns.delivery.sender import send_until_idle
from campaigns.models import Message
from campaigns.signups import (
    CodeRefused,
    SignupExpired,
    SignupInvalid,
    Visitor,
    confirm_signup,
    confirm_signup_by_code,
    confirmation_code,
    create_form,
    link_is_genuine,
    on_signup_event,
    remove_signup_listener,
    submit_signup,
)
from campaigns.signups.models import SignupSubmission
from channels.inbound import InboundSms
from core.config import ReplyConfig
from core.errors import Invalid
from tests.conftest import make_config
from tests.fakes.fake_smtp import FakeSmtp

VISITOR = Visitor(ip="203.0.113.7", user_agent="Mozilla/5.0 test")
CONSENT = "Yes, email me news and offers from Tea House. I can unsubscribe at any time."
LINK = re.compile(r"https?://[^\s\"<]+/f/confirm/(\d+)/([0-9a-f]+)")


@pytest.fixture
def events():
    seen = []

    def listener(session, event):
        seen.append(event)

    on_signup_event(listener)
    yield seen
    remove_signup_listener(listener)


def _form(session, clock, **overrides):
    fair = create_list(session, "Spring fair", now=clock.now())
    create_custom_field(session, key="tea", label="Favourite tea", type="choice", choices=["green", "black"],
                        now=clock.now())
    definition = dict(name="Fair 2026", slug="fair", language="en", title="Tea House news",
                      fields=[{"field": "email", "label": "Email", "required": True},
                              {"field": "first_name", "label": "First name", "required": False},
                              {"field": "company", "label": "Company", "required": False},
                              {"field": "phone", "label": "Mobile", "required": False},
                              {"field": "attributes.tea", "label": "Tea", "required": False}],
                      list_ids=[fair.id], email_consent=CONSENT, sms_consent="Text me offers.", thanks="Welcome!")
    definition.update(overrides)
    return create_form(session, now=clock.now(), **definition), fair


def test_a_new_visitor_is_pending_until_the_emailed_link_confirms_and_the_consent_keeps_its_evidence(
        backend, session, database, clock, tmp_path, db_url, events):
    form, fair = _form(session, clock)
    with FakeSmtp() as smtp:
        config = make_config(tmp_path, db_url, HERALD_CHANNELS_EMAIL_URL=smtp.url + "?from=news@example.com",
                             HERALD_BASE_URL="https://herald.example.com")
        receipt = submit_signup(session, "fair", {"email": " Mei@Example.com ", "first_name": "Mei",
                                                  "phone": "+12015550123", "attributes.tea": "green"},
                                {"email"}, visitor=VISITOR, config=config, now=clock.now())
        assert receipt.channels == ("email",) and receipt.sms_submission_id is None
        contact = session.scalars(select(SignupSubmission)).one().contact_id
        # Pending on every channel it has an address for: a campaign to everyone passes it by.
        assert {c: v.status for c, v in current_consents(session, contact).items()} == {"email": "pending",
                                                                                        "sms": "pending"}
        template = create_template(session, name="News", channel="email", subject="News", html="<p>Hi</p>",
                                   now=clock.now())
        news = create_campaign(session, name="News", channel="email", template_id=template.id, now=clock.now())
        run = send_campaign(session, news.id, now=clock.now(), channel_description="log://", dry_run=True)
        assert session.scalar(select(Message.status).where(Message.run_id == run.id)) == "suppressed"
        session.commit()  # end the read: on SQLite an open transaction holds the lock the sender needs
        # Only the confirmation goes out, through the outbox, to the SMTP fake.
        assert send_until_idle(config, database, clock) >= 1
        confirmations = [m for m in smtp.messages if m.rcpt_tos == ["mei@example.com"]]
        assert len(confirmations) == 1
        mail = confirmations[0].message
        assert mail["Subject"] == "Please confirm your subscription"
        html = mail.get_body(("html",)).get_content()
        text = mail.get_body(("plain",)).get_content()
        assert "Hello Mei," in html and "Tea House news" in html
        submission_id, signature = LINK.search(text).groups()
    assert not link_is_genuine(str(config.secret_key), int(submission_id), signature[:-1] + "0")
    assert link_is_genuine(str(config.secret_key), int(submission_id), signature)
    assert fair.id not in [lst.id for lst in contact_lists(session, contact)]  # lists wait for confirmation

    clock.advance(minutes=5)
    confirm_signup(session, int(submission_id), how="link", ip="198.51.100.9", now=clock.now(), default_region="US")
    consents = current_consents(session, contact)
    assert consents["email"].status == "subscribed" and consents["sms"].status == "pending"
    change = consent_history(session, contact)[0]
    assert change.source == "sign-up form fair, confirmed by link"
    assert change.evidence["consent_text"] == CONSENT and change.evidence["ip"] == "203.0.113.7"
    assert change.evidence["confirmed_ip"] == "198.51.100.9" and change.evidence["confirmed_by"] == "link"
    assert change.evidence["submitted_at"] < change.evidence["confirmed_at"]
    assert [lst.id for lst in contact_lists(session, contact)] == [fair.id]
    mei = get_contact(session, contact)
    assert (mei.first_name, mei.attributes, mei.locale) == ("Mei", {"tea": "green"}, "en")
    assert [e.kind for e in events] == ["form_submitted", "signup_confirmed"] and events[1].how == "link"
    # The carrier campaign and its template stay out of the marketer's lists.
    assert [c.name for c in list_campaigns(session)] == ["News"]
    assert [t.name for t in list_templates(session)] == ["News"]
    # Confirming twice changes nothing.
    confirm_signup(session, int(submission_id), how="link", ip="x", now=clock.now(), default_region="US")
    assert len(consent_history(session, contact)) == 3  # pending email, pending sms, subscribed email


def test_a_known_address_gets_the_same_answer_and_its_contact_changes_only_where_empty_on_confirmation(
        backend, session, clock, config):
    form, _fair = _form(session, clock)
    ann = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com", first_name="Ann")
    known = submit_signup(session, "fair", {"email": "ann@example.com", "first_name": "Mallory", "company": "Acme"},
                          {"email"}, visitor=VISITOR, config=config, now=clock.now())
    new = submit_signup(session, "fair", {"email": "bo@example.com", "first_name": "Bo"}, {"email"},
                        visitor=VISITOR, config=config, now=clock.now())
    assert (known.channels, known.sms_submission_id) == (new.channels, new.sms_submission_id)
    session.expire_all()
    assert get_contact(session, ann.id).first_name == "Ann" and get_contact(session, ann.id).company == ""
    assert current_consents(session, ann.id) == {}  # not made pending: a stranger cannot switch her off
    submission = session.scalars(select(SignupSubmission).where(SignupSubmission.contact_id == ann.id)).one()
    confirm_signup(session, submission.id, how="link", ip=None, now=clock.now(), default_region="US")
    session.expire_all()
    ann = get_contact(session, ann.id)
    assert (ann.first_name, ann.company) == ("Ann", "Acme")
    assert current_consents(session, ann.id)["email"].status == "subscribed"


def test_an_sms_sign_up_is_confirmed_by_its_code_or_by_replying_y(backend, session, clock, config):
    _form(session, clock, fields=[{"field": "phone", "label": "Mobile", "required": True}], email_consent="",
          sms_consent="Text me offers.")
    receipt = submit_signup(session, "fair", {"phone": "(201) 555-0150"}, {"sms"}, visitor=VISITOR, config=config,
                            now=clock.now())
    body = session.scalar(select(Message.body).where(Message.address == "+12015550150"))
    code = confirmation_code(str(config.secret_key), receipt.sms_submission_id)
    assert code in body and "reply Y" in body
    with pytest.raises(CodeRefused) as wrong:
        confirm_signup_by_code(session, receipt.sms_submission_id, "000000" if code != "000000" else "111111",
                               secret_key=str(config.secret_key), ip="203.0.113.7", now=clock.now(),
                               default_region="US")
    assert wrong.value.attempts_left == 4
    confirm_signup_by_code(session, receipt.sms_submission_id, f" {code[:3]} {code[3:]} ",
                           secret_key=str(config.secret_key), ip="203.0.113.7", now=clock.now(), default_region="US")
    contact = session.get(SignupSubmission, receipt.sms_submission_id).contact_id
    assert current_consents(session, contact)["sms"].status == "subscribed"

    second = submit_signup(session, "fair", {"phone": "+12015550151"}, {"sms"}, visitor=VISITOR, config=config,
                           now=clock.now())
    message = session.scalar(select(Message).where(Message.address == "+12015550151"))
    message.status, message.sent_at = "sent", clock.now()  # the confirmation went out
    session.commit()
    outcome = record_reply(session, InboundSms("twilio", "SMy1", "+12015550151", "+15005550006", "y!", segments=1),
                           config=ReplyConfig(), default_region="US", now=clock.now())
    assert outcome.classification == "subscribe"
    submission = session.get(SignupSubmission, second.sms_submission_id)
    session.refresh(submission)
    assert (submission.status, submission.confirmed_by) == ("confirmed", "reply")


def test_wrong_codes_lock_the_sign_up_and_old_ones_expire(session, clock, config):
    _form(session, clock, fields=[{"field": "phone", "label": "Mobile", "required": True}], email_consent="")
    receipt = submit_signup(session, "fair", {"phone": "+12015550152"}, {"sms"}, visitor=VISITOR, config=config,
                            now=clock.now())
    code = confirmation_code(str(config.secret_key), receipt.sms_submission_id)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(CodeRefused) as refused:
            confirm_signup_by_code(session, receipt.sms_submission_id, wrong, secret_key=str(config.secret_key),
                                   ip=None, now=clock.now(), default_region="US")
        assert refused.value.attempts_left == left
    with pytest.raises(CodeRefused):  # locked: even the right code is refused now
        confirm_signup_by_code(session, receipt.sms_submission_id, code, secret_key=str(config.secret_key),
                               ip=None, now=clock.now(), default_region="US")
    late = submit_signup(session, "fair", {"phone": "+12015550153"}, {"sms"}, visitor=VISITOR, config=config,
                         now=clock.now())
    with pytest.raises(SignupExpired):
        confirm_signup(session, late.sms_submission_id, how="link", ip=None, now=clock.now() + timedelta(days=8),
                       default_region="US")


def test_the_values_are_checked_field_by_field_and_a_suppressed_address_gets_no_confirmation(session, clock, config):
    _form(session, clock, fields=[{"field": "email", "label": "Email", "required": True},
                                  {"field": "first_name", "label": "Name", "required": True}], sms_consent="")
    with pytest.raises(SignupInvalid) as refused:
        submit_signup(session, "fair", {"email": "not-an-email"}, set(), visitor=VISITOR, config=config,
                      now=clock.now())
    assert refused.value.problems == {"email": "invalid", "first_name": "required", "consent": "required"}
    add_suppressions(session, ["blocked@example.com"], channel="email", default_region="US", now=clock.now())
    receipt = submit_signup(session, "fair", {"email": "blocked@example.com", "first_name": "Bea"}, {"email"},
                            visitor=VISITOR, config=config, now=clock.now())
    assert receipt.channels == ("email",)  # told the same as anyone
    message = session.scalar(select(Message).where(Message.address == "blocked@example.com"))
    assert message.status == "suppressed" and "suppression list" in message.error_reason


def test_a_form_definition_is_checked(session, clock):
    _form(session, clock)
    with pytest.raises(Invalid, match="taken"):
        _form_again = create_form(session, now=clock.now(), name="Other", slug="fair", email_consent="ok",
                                  fields=[{"field": "email"}])
    with pytest.raises(Invalid, match="add the phone field"):
        create_form(session, now=clock.now(), name="Other", slug="other", sms_consent="ok",
                    fields=[{"field": "email"}])
    with pytest.raises(Invalid, match="not a field a form can ask"):
        create_form(session, now=clock.now(), name="Other", slug="other", email_consent="ok",
                    fields=[{"field": "email"}, {"field": "notes"}])
    with pytest.raises(Invalid, match="not usable"):
        create_form(session, now=clock.now(), name="Other", slug="Not A Slug", email_consent="ok",
                    fields=[{"field": "email"}])
