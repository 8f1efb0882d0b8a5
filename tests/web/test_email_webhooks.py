"""Email bounce and complaint webhooks: SendGrid (ECDSA), Amazon SES via SNS (RSA cert), posted DSNs (token).

A request with a bad or missing signature is refused with 403 and changes nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from audiences import Consent, create_contact, is_suppressed
from campaigns.models import Message, MessageEvent
from channels import WebhookRejected
from channels.email_webhooks import SNS_CERTIFICATE_CACHE_SIZE, SnsSettings, parse_sns
from tests.campaigns.factories import start_campaign
from tests.conftest import make_config
from tests.fakes.email_providers import SendGridSigner, SnsSigner, ses_bounce, ses_complaint

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
DSN = Path(__file__).resolve().parent.parent / "channels" / "dsn"


@pytest.fixture
def sendgrid() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture
def sns(tmp_path) -> SnsSigner:
    return SnsSigner(tmp_path)


@pytest.fixture
def config(tmp_path, db_url, sendgrid, sns):
    return make_config(tmp_path, db_url, HERALD_BOUNCES_SENDGRID_PUBLIC_KEY=sendgrid.public_key_b64,
                       HERALD_BOUNCES_SES_TOPIC_ARNS=TOPIC,
                       HERALD_BOUNCES_SNS_CERTIFICATE_FILE=str(sns.certificate_file),
                       HERALD_BOUNCES_POST_TOKEN="dsn-token-for-tests")


@pytest.fixture
def client(csrf_client):
    """CSRF stays on, as in production: providers cannot send a token, so the webhooks must not need one."""
    return csrf_client


@pytest.fixture
def sent(session, clock) -> dict[str, Message]:
    """Email messages to ann@ and gone@, accepted by the provider."""
    now = clock.now()
    for address in ("ann@example.com", "gone@example.com"):
        create_contact(session, default_region="US", now=now, email=address)
    _, run = start_campaign(session, now=now, channel="email")
    messages = {m.address: m for m in session.scalars(select(Message).where(Message.run_id == run.id))}
    for message in messages.values():
        message.status, message.sent_at = "sent", now
    session.commit()
    for message in messages.values():
        session.expunge(message)
    return messages


def state(session, message: Message) -> tuple[str, str | None, list[str]]:
    session.expire_all()
    status = session.get(Message, message.id).status
    consent = session.scalar(select(Consent.status).where(Consent.contact_id == message.contact_id,
                                                          Consent.channel == "email"))
    kinds = list(session.scalars(select(MessageEvent.type).where(MessageEvent.message_id == message.id)
                                 .order_by(MessageEvent.id)))
    session.rollback()  # no transaction left open: on SQLite it would block the app's next write
    return status, consent, kinds


def our_id(message: Message) -> str:
    return f"<herald.{message.id}@herald.example>"


# ------------------------------------------------------------------ SendGrid
def test_sendgrid_hard_bounce_and_spam_report(client, session, sendgrid, sent):
    gone, ann = sent["gone@example.com"], sent["ann@example.com"]
    body, headers = sendgrid.sign([
        {"event": "bounce", "email": "gone@example.com", "type": "bounce", "status": "5.1.1",
         "reason": "550 5.1.1 The email account that you tried to reach does not exist", "timestamp": 1763889247,
         "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "herald_message_id": gone.id},
        {"event": "spamreport", "email": "ann@example.com", "timestamp": 1763889300, "herald_message_id": ann.id},
        {"event": "open", "email": "ann@example.com", "timestamp": 1763889301},
    ])
    response = client.post("/webhooks/sendgrid/events", data=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["reports"] == 2 and response.json["consent_changed"] == 2
    assert state(session, gone) == ("failed", "bounced", ["bounced"])
    assert state(session, ann) == ("sent", "complained", ["complained"])
    assert is_suppressed(session, "email", "gone@example.com")


def test_sendgrid_and_ses_deliveries_move_the_message_to_delivered(client, session, sendgrid, sns, sent):
    ann, gone = sent["ann@example.com"], sent["gone@example.com"]
    body, headers = sendgrid.sign([{"event": "delivered", "email": "ann@example.com", "timestamp": 1763889247,
                                    "response": "250 2.0.0 OK", "herald_message_id": ann.id,
                                    "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}])
    response = client.post("/webhooks/sendgrid/events", data=body, headers=headers)
    assert response.status_code == 200 and response.json["moved"] == 1
    delivery = {"notificationType": "Delivery", "mail": {"messageId": "0100017b-ses-id",
                                                         "commonHeaders": {"messageId": our_id(gone)}},
                "delivery": {"timestamp": "2026-11-23T09:14:09.000Z", "smtpResponse": "250 ok",
                             "recipients": ["gone@example.com"]}}
    assert client.post("/webhooks/ses", data=sns.notification(TOPIC, delivery)).json["moved"] == 1
    assert state(session, ann) == ("delivered", None, ["delivered"])
    assert state(session, gone) == ("delivered", None, ["delivered"])


def test_a_sendgrid_unsubscribe_is_an_opt_out_but_not_a_suppression(client, session, sendgrid, sent):
    ann = sent["ann@example.com"]
    body, headers = sendgrid.sign([{"event": "unsubscribe", "email": "ann@example.com", "herald_message_id": ann.id}])
    assert client.post("/webhooks/sendgrid/events", data=body, headers=headers).json["consent_changed"] == 1
    assert state(session, ann) == ("sent", "unsubscribed", ["unsubscribed"])
    assert not is_suppressed(session, "email", "ann@example.com")


def test_sendgrid_blocked_and_deferred_are_soft(client, session, sendgrid, sent):
    ann = sent["ann@example.com"]
    body, headers = sendgrid.sign([
        {"event": "bounce", "type": "blocked", "email": "ann@example.com", "status": "5.7.1",
         "reason": "550 5.7.1 Message rejected due to content", "herald_message_id": ann.id},
        {"event": "deferred", "email": "ann@example.com", "response": "451 4.3.0 try later",
         "herald_message_id": ann.id},
    ])
    assert client.post("/webhooks/sendgrid/events", data=body, headers=headers).status_code == 200
    assert state(session, ann) == ("failed", None, ["bounced", "delayed"])


@pytest.mark.parametrize("forgery", ["missing", "tampered", "other-key", "stale"])
def test_sendgrid_without_a_good_signature_is_refused_and_changes_nothing(client, session, sendgrid, sent, forgery):
    gone = sent["gone@example.com"]
    events = [{"event": "bounce", "email": "gone@example.com", "status": "5.1.1", "herald_message_id": gone.id}]
    body, headers = sendgrid.sign(events, timestamp=int(time.time()) - 3600 if forgery == "stale" else None)
    if forgery == "missing":
        headers = {"Content-Type": "application/json"}
    elif forgery == "tampered":
        body = body.replace(b"gone@", b"ann@")
    elif forgery == "other-key":
        body, headers = SendGridSigner().sign(events)
    response = client.post("/webhooks/sendgrid/events", data=body, headers=headers)
    assert response.status_code == 403
    assert state(session, gone) == ("sent", None, [])


# ------------------------------------------------------------------ Amazon SES via SNS
@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_permanent_bounce_through_sns(client, session, sns, sent, version):
    gone = sent["gone@example.com"]
    body = sns.notification(TOPIC, ses_bounce("gone@example.com", our_id(gone)), version=version)
    response = client.post("/webhooks/ses", data=body, headers={"Content-Type": "text/plain; charset=UTF-8"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert state(session, gone) == ("failed", "bounced", ["bounced"])


def test_ses_transient_bounce_is_soft_and_complaint_sets_consent(client, session, sns, sent):
    gone, ann = sent["gone@example.com"], sent["ann@example.com"]
    soft = ses_bounce("gone@example.com", our_id(gone), permanent=False, status="4.2.2", diagnostic="452 4.2.2 full")
    assert client.post("/webhooks/ses", data=sns.notification(TOPIC, soft)).status_code == 200
    assert client.post("/webhooks/ses", data=sns.notification(TOPIC, ses_complaint("ann@example.com",
                                                                                   our_id(ann)))).status_code == 200
    assert state(session, gone) == ("failed", None, ["bounced"])
    assert state(session, ann) == ("sent", "complained", ["complained"])


@pytest.mark.parametrize("forgery", ["tampered", "other-topic", "bad-version"])
def test_ses_without_a_good_signature_or_from_another_topic_is_refused(client, session, sns, sent, forgery):
    gone = sent["gone@example.com"]
    topic = "arn:aws:sns:us-east-1:999999999999:someone-else" if forgery == "other-topic" else TOPIC
    message = json.loads(sns.notification(topic, ses_bounce("gone@example.com", our_id(gone))))
    if forgery == "tampered":
        message["Message"] = message["Message"].replace("Permanent", "Transient")
    elif forgery == "bad-version":
        message["SignatureVersion"] = "3"
    response = client.post("/webhooks/ses", data=json.dumps(message))
    assert response.status_code == 403
    assert state(session, gone) == ("sent", None, [])


NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class CertificateServer:
    """Stands in for requests.get against SNS's certificate host: records each fetch and its TLS options."""

    def __init__(self, pem: bytes = b"") -> None:
        self.pem = pem
        self.fetched: list[str] = []

    def __call__(self, url: str, *, timeout: float, verify: bool, allow_redirects: bool) -> Any:
        assert verify is True and allow_redirects is False, "the certificate must come over verified TLS, unredirected"
        self.fetched.append(url)
        return SimpleNamespace(content=self.pem, status_code=200, raise_for_status=lambda: None)


def signed_from(sns: SnsSigner, url: str) -> bytes:
    message = json.loads(sns.notification(TOPIC, ses_bounce("gone@example.com", "<herald.1@h>")))
    message["SigningCertURL"] = url  # not part of the signed text, as in SNS
    return json.dumps(message).encode()


def test_the_signing_certificate_is_fetched_only_from_an_sns_host(sns):
    settings = SnsSettings(topic_arns=(TOPIC,))
    server = CertificateServer(sns.certificate_pem)
    good = f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{uuid.uuid4().hex}.pem"
    assert len(parse_sns(signed_from(sns, good), settings, now=NOW, fetch=server).feedback) == 1
    assert server.fetched == [good]
    for url in ("https://sns.us-east-1.amazonaws.com.evil.example/cert.pem", "http://sns.us-east-1.amazonaws.com/x.pem",
                "https://evil.example/sns.us-east-1.amazonaws.com.pem",
                # S3 answers on <bucket>.s3.amazonaws.com: a bucket named "sns" is anyone's.
                "https://sns.s3.amazonaws.com/cert.pem", "https://sns.s3.amazonaws.com.cn/cert.pem",
                "https://sns.amazonaws.com.evil/cert.pem", "https://sns.us-east-1.amazonaws.com:8443/cert.pem"):
        with pytest.raises(WebhookRejected) as refused:
            parse_sns(signed_from(sns, url), settings, now=NOW, fetch=server)
        assert refused.value.http_status == 403
    assert server.fetched == [good]  # never fetched from anywhere else


@pytest.mark.parametrize("url", ["https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-{}.pem",
                                 "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-{}.pem"])
def test_china_and_govcloud_sns_hosts_are_accepted(sns, url):
    url = url.format(uuid.uuid4().hex)
    server = CertificateServer(sns.certificate_pem)
    assert len(parse_sns(signed_from(sns, url), SnsSettings((TOPIC,)), now=NOW, fetch=server).feedback) == 1
    assert server.fetched == [url]


def test_a_certificate_not_issued_to_sns_signs_nothing(tmp_path):
    # Served from a good SNS URL (say, through a compromised proxy) but issued to someone else.
    impostor = SnsSigner(tmp_path, issued_to="sns.evil.example")
    url = f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{uuid.uuid4().hex}.pem"
    with pytest.raises(WebhookRejected) as refused:
        parse_sns(signed_from(impostor, url), SnsSettings((TOPIC,)), now=NOW,
                  fetch=CertificateServer(impostor.certificate_pem))
    assert refused.value.http_status == 403 and "sns.evil.example" in str(refused.value)


def test_an_expired_signing_certificate_signs_nothing(tmp_path):
    expired = SnsSigner(tmp_path, not_valid_after=datetime(2025, 12, 31, tzinfo=UTC))
    with pytest.raises(WebhookRejected) as refused:
        parse_sns(expired.notification(TOPIC, ses_bounce("gone@example.com", "<herald.1@h>")),
                  SnsSettings((TOPIC,), str(expired.certificate_file)), now=NOW)
    assert refused.value.http_status == 403 and "not valid now" in str(refused.value)


def test_the_certificate_cache_keeps_only_the_most_recent_certificates(sns):
    server = CertificateServer(sns.certificate_pem)
    settings = SnsSettings((TOPIC,))
    urls = [f"https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-{uuid.uuid4().hex}.pem"
            for _ in range(SNS_CERTIFICATE_CACHE_SIZE + 1)]
    for url in urls:
        parse_sns(signed_from(sns, url), settings, now=NOW, fetch=server)
    parse_sns(signed_from(sns, urls[-1]), settings, now=NOW, fetch=server)  # recent: still cached
    assert len(server.fetched) == len(urls)
    parse_sns(signed_from(sns, urls[0]), settings, now=NOW, fetch=server)  # the oldest was evicted
    assert server.fetched[-1] == urls[0] and len(server.fetched) == len(urls) + 1


def test_a_subscription_confirmation_is_fetched_only_when_configured(sns):
    confirmation = json.dumps(sns.message("SubscriptionConfirmation", TOPIC, {
        "Message": "You have chosen to subscribe", "Token": "2336412f37",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37"})).encode()
    server = CertificateServer()

    off = parse_sns(confirmation, SnsSettings((TOPIC,), str(sns.certificate_file)), now=NOW, fetch=server)
    assert server.fetched == [] and "confirm it by opening https://sns.us-east-1" in off.note
    on = parse_sns(confirmation, SnsSettings((TOPIC,), str(sns.certificate_file), confirm_subscriptions=True),
                   now=NOW, fetch=server)
    assert on.note.endswith("confirmed") and server.fetched == [json.loads(confirmation)["SubscribeURL"]]


# ------------------------------------------------------------------ posted DSN
def test_a_posted_dsn_with_the_token_bounces(client, session, sent):
    gone = sent["gone@example.com"]
    raw = (DSN / "hard_5_1_1.eml").read_text().replace("{message_id}", str(gone.id)).encode()
    refused = client.post("/webhooks/email/dsn", data=raw, headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 403 and state(session, gone) == ("sent", None, [])
    response = client.post("/webhooks/email/dsn", data=raw, headers={"Authorization": "Bearer dsn-token-for-tests",
                                                                     "Content-Type": "message/rfc822"})
    assert response.status_code == 200 and response.json["consent_changed"] == 1
    assert state(session, gone) == ("failed", "bounced", ["bounced"])
    not_a_report = client.post("/webhooks/email/dsn", data=b"Subject: hello\r\n\r\nhi\r\n",
                               headers={"Authorization": "Bearer dsn-token-for-tests"})
    assert not_a_report.status_code == 400 and "delivery status notification" in not_a_report.json["message"]


def test_an_unconfigured_source_answers_404_naming_the_setting(tmp_path, db_url, database, clock):
    from web.app import create_app

    app = create_app(make_config(tmp_path, db_url), database=database, clock=clock)
    response = app.test_client().post("/webhooks/ses", data=b"{}")
    assert response.status_code == 404 and "ses_topic_arns" in response.json["message"]
