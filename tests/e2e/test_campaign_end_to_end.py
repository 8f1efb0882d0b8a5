"""A CSV file to delivered messages and a report, through the real parts: the CLI, the database
(SQLite and PostgreSQL), the official twilio SDK against a Twilio-compatible server on loopback,
an aiosmtpd SMTP server, and Herald's own web server receiving signed status callbacks."""

from __future__ import annotations

import json

import pytest

from campaigns import create_campaign, create_template
from core.clock import SystemClock

CSV = """email,phone,first_name,last_name,city
ann@example.com,+12015550123,Ann,Lee,Boston
wang.fang@example.cn,+8613800138000,芳,王,北京
bob@example.com,+12015550124,Bob,Stone,Denver
not-an-email,+12015550125,Bad,Email,Nowhere
carol@example.com,12345,Carol,Badphone,Nowhere
dave@example.com,+12025550143,Dave,Invalid,Austin
,,Nobody,Atall,Nowhere
erin@example.com,,Erin,Emailonly,Seattle
"""
GOOD_EMAILS = {"ann@example.com", "wang.fang@example.cn", "bob@example.com", "dave@example.com", "erin@example.com"}
SMS_RECIPIENTS = {"+12015550123", "+8613800138000", "+12015550124", "+12025550143"}


def _import(herald, tmp_path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(CSV, encoding="utf-8")
    # reject-row: these tests follow whole rows from the file to the provider; a row that lands without its bad
    # address (the default) is the import's own tests' subject.
    out = herald("contacts", "import", str(path), "--list", "Spring fair", "--on-bad-address", "reject-row")
    assert "5 imported, 0 updated, 0 skipped, 3 rejected" in out
    assert "row 5:" in out and "email" in out  # not-an-email, line 5 of the file
    assert "row 6:" in out and "12345" in out
    assert "row 8:" in out


def _campaign(database, channel: str, **parts) -> int:
    now = SystemClock().now()
    with database.session() as session:
        template = create_template(session, name=f"{channel} offer", channel=channel, now=now, **parts)
        return create_campaign(session, name=f"{channel} spring fair", channel=channel, template_id=template.id,
                               list_id=1, now=now).id


def test_email_campaign_reaches_each_good_recipient_exactly_once(backend, herald, database, fake_smtp, tmp_path):
    _import(herald, tmp_path)
    campaign_id = _campaign(database, "email", subject="Hi {{ contact.first_name }}",
                            html="<p>Hello {{ contact.first_name }} from {{ contact.city }}</p>"
                                 "<a href='{{ unsubscribe_url }}'>unsubscribe</a>")

    out = herald("campaigns", "send", str(campaign_id), "--wait")
    assert "5 recipients" in out

    received = {rcpt: msg for msg in fake_smtp.messages for rcpt in msg.rcpt_tos}
    assert sorted(r for m in fake_smtp.messages for r in m.rcpt_tos) == sorted(GOOD_EMAILS)
    ann = received["ann@example.com"].message
    assert ann["Subject"] == "Hi Ann"
    assert "Hello Ann from Boston" in ann.get_body(("html",)).get_content()
    assert ann["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:")
    assert ann["Message-ID"].strip().startswith("<herald.")
    assert fake_smtp.connections <= 2  # one persistent connection per sender, not one per message

    report = json.loads(herald("report", str(campaign_id), "--format", "json"))
    assert report["recipients"] == 5
    assert report["sent"] == 5
    assert report["failed"] == 0
    assert report["delivered"] == 0  # SMTP acceptance is not delivery


def test_sms_campaign_goes_out_once_per_recipient_and_callbacks_mark_delivery(
        backend, herald, database, fake_twilio, web_server, tmp_path):
    _import(herald, tmp_path)
    campaign_id = _campaign(database, "sms", body="【Herald】{{ contact.first_name }}，春季会员日8折！回复TD退订")

    herald("campaigns", "send", str(campaign_id), "--wait")

    # One request per SMS recipient (Erin has no phone: suppressed, never sent to Twilio).
    assert sorted(r["To"] for r in fake_twilio.requests) == sorted(SMS_RECIPIENTS)
    assert all(r["StatusCallback"].startswith(f"{web_server}/webhooks/twilio/status/") for r in fake_twilio.requests)

    status = json.loads(herald("report", str(campaign_id), "--format", "json"))
    assert status["sent"] == 3 and status["failed"] == 1
    (failure,) = status["failures"]
    assert failure["code"] == "21211" and "not a valid phone number" in failure["reason"]

    # Twilio's signed callbacks reach the webhook and move messages forward only.
    assert set(fake_twilio.send_status_callbacks("delivered", price="-0.00750")) == {204}
    assert set(fake_twilio.send_status_callbacks("sent")) == {204}  # late and out of order: harmless

    report = json.loads(herald("report", str(campaign_id), "--format", "json"))
    assert report["recipients"] == 5
    assert report["suppressed"] == 1
    assert report["sent"] == 3
    assert report["delivered"] == 3
    assert report["failed"] == 1
    assert report["pending"] == 0 and report["unknown"] == 0
    assert report["cost"] == {"USD": "0.022500"} or report["cost"] == {"USD": "0.0225"}


@pytest.mark.parametrize("forged", [True])
def test_a_forged_status_callback_changes_nothing(herald, database, fake_twilio, web_server, tmp_path, forged):
    _import(herald, tmp_path)
    campaign_id = _campaign(database, "sms", body="Hi {{ contact.first_name }}")
    herald("campaigns", "send", str(campaign_id), "--wait")
    assert set(fake_twilio.send_status_callbacks("delivered", auth_token="not-the-token")) == {403}
    report = json.loads(herald("report", str(campaign_id), "--format", "json"))
    assert report["delivered"] == 0 and report["sent"] == 3
