"""Signers that play SendGrid's Event Webhook and Amazon SNS in tests: real keys, real signatures.

    sendgrid = SendGridSigner()        # sendgrid.public_key_b64 goes into [bounces] sendgrid_public_key
    body, headers = sendgrid.sign([{"event": "bounce", ...}])
    sns = SnsSigner(tmp_path)          # sns.certificate_file goes into [bounces] sns_certificate_file
    body = sns.notification(topic, {"notificationType": "Bounce", ...})
"""

from __future__ import annotations

import base64
import datetime
import json
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from channels.email_webhooks import SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP

SNS_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


class SendGridSigner:
    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        der = self._key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_key_b64 = base64.b64encode(der).decode()

    def sign(self, events: list[dict[str, Any]], *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(events).encode()
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        signature = self._key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return body, {SENDGRID_SIGNATURE: base64.b64encode(signature).decode(), SENDGRID_TIMESTAMP: stamp,
                      "Content-Type": "application/json"}


class SnsSigner:
    """An RSA key and a self-signed certificate standing in for SNS's signing certificate."""

    def __init__(self, directory: Path, *, issued_to: str = "sns.us-east-1.amazonaws.com",
                 not_valid_after: datetime.datetime | None = None) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issued_to)])
        # Valid from well before the tests' FrozenClock (2026-01-05) until a year from the real now.
        until = not_valid_after or datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
                       .not_valid_after(until).sign(self._key, hashes.SHA256()))
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
        self.certificate_file = directory / "sns-signing.pem"
        self.certificate_file.write_bytes(self.certificate_pem)
        self.cert_url = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"

    def message(self, kind: str, topic: str, fields: dict[str, str], *, version: str = "1") -> dict[str, str]:
        message = {"Type": kind, "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", "TopicArn": topic,
                   "Timestamp": "2026-11-23T09:14:08.000Z", "SignatureVersion": version,
                   "SigningCertURL": self.cert_url, **fields}
        text = "".join(f"{key}\n{message[key]}\n" for key in SNS_KEYS[kind] if key in message)
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        message["Signature"] = base64.b64encode(self._key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
        return message

    def notification(self, topic: str, ses: dict[str, Any], *, version: str = "1") -> bytes:
        return json.dumps(self.message("Notification", topic, {"Message": json.dumps(ses)}, version=version)).encode()


def ses_bounce(address: str, message_id_header: str, *, permanent: bool = True, status: str = "5.1.1",
               diagnostic: str = "smtp; 550 5.1.1 user unknown") -> dict[str, Any]:
    return {
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent" if permanent else "Transient",
                   "bounceSubType": "General" if permanent else "MailboxFull",
                   "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": status,
                                          "diagnosticCode": diagnostic}],
                   "timestamp": "2026-11-23T09:14:07.000Z", "feedbackId": "0100017b-bounce"},
        "mail": {"timestamp": "2026-11-23T09:14:05.000Z", "messageId": "0100017b-ses-id", "source": "news@shop.example",
                 "destination": [address], "commonHeaders": {"messageId": message_id_header}},
    }


def ses_complaint(address: str, message_id_header: str) -> dict[str, Any]:
    return {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": address}], "complaintFeedbackType": "abuse",
                      "timestamp": "2026-11-23T10:00:00.000Z", "feedbackId": "0100017b-complaint"},
        "mail": {"messageId": "0100017b-ses-id", "commonHeaders": {"messageId": message_id_header}},
    }
