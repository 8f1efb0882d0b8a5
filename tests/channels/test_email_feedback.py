"""Reading bounce reports (RFC 3464) and classifying bounces as hard or soft (RFC 3463)."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.email_feedback import NotADsn, herald_message_id, is_hard_bounce, parse_complaint_report, parse_dsn

DSN = Path(__file__).resolve().parent / "dsn"


def sample(name: str, message_id: int = 42) -> bytes:
    return (DSN / f"{name}.eml").read_text().replace("{message_id}", str(message_id)).encode()


def test_a_postfix_5_1_1_report_with_the_original_message():
    [report] = parse_dsn(sample("hard_5_1_1", 907))
    assert (report.kind, report.address, report.hard, report.status) == ("bounce", "gone@example.com", True, "5.1.1")
    assert report.message_id == 907 and report.provider_id == "<herald.907@herald.example>"
    assert report.reason.startswith("550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown")
    assert report.occurred_at is not None and report.occurred_at.isoformat() == "2026-11-23T09:14:07+00:00"


def test_a_mailbox_full_delay_with_only_the_original_headers():
    [report] = parse_dsn(sample("soft_4_2_2", 31))
    assert (report.kind, report.address, report.hard, report.status) == ("delay", "full@example.com", False, "4.2.2")
    assert report.message_id == 31
    assert "over quota" in report.reason


def test_recipients_reported_delivered_or_relayed_are_not_feedback():
    raw = sample("hard_5_1_1").replace(b"Action: failed", b"Action: relayed")
    assert parse_dsn(raw) == []


def test_a_message_that_is_not_a_report_says_so():
    with pytest.raises(NotADsn, match="Out of office"):
        parse_dsn(b"From: ann@example.com\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n")


@pytest.mark.parametrize(("status", "reason", "hard"), [
    ("5.1.1", "", True),
    ("5.1.10", "Recipient address has null MX", True),
    ("5.2.1", "mailbox disabled", True),
    ("5.2.2", "mailbox full", False),
    ("5.7.1", "message rejected as spam", False),
    ("4.2.2", "over quota", False),
    ("", "550 Requested action not taken: mailbox unavailable (user unknown)", True),
    ("", "550 Message rejected", False),
])
def test_hard_means_the_address_will_never_take_mail(status, reason, hard):
    assert is_hard_bounce(status, reason) is hard


def test_only_message_ids_herald_wrote_name_a_herald_message():
    assert herald_message_id("<herald.42@herald.example>") == 42
    assert herald_message_id("<CAF=abc@mail.gmail.com>") is None
    assert herald_message_id(None) is None


def test_a_feedback_loop_complaint_names_the_recipient_from_the_returned_message():
    [report] = parse_complaint_report(sample("complaint_arf", 77))
    assert (report.kind, report.address, report.message_id, report.source) == ("complaint", "ann@example.com", 77,
                                                                               "arf")
    redacted = sample("complaint_arf").replace(b"To: Ann Example <ann@example.com>", b"To: redacted")
    assert parse_complaint_report(redacted) == []  # the provider hid who complained: nobody to act on
    with pytest.raises(NotADsn, match="RFC 5965"):
        parse_complaint_report(sample("hard_5_1_1"))
