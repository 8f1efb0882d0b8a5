"""`herald campaigns submit|approve|reject|pause|resume|cancel|history|estimate|fallback`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from campaigns import create_campaign, create_event_notice, create_template, get_campaign, send_campaign
from core.clock import SystemClock
from core.users import create_user
from tests.campaigns.factories import make_contact


def herald(config, *args: str):
    from web.cli import cli

    env = {"HERALD_DATABASE_URL": str(config.database_url), "HERALD_DATA_DIR": str(config.data_dir),
           "HERALD_ENV": "test", "HERALD_SCHEDULER_ENABLED": "false",
           "HERALD_CHANNELS_SMS_URL": str(config.channels["sms"].url),
           "HERALD_CHANNELS_EMAIL_URL": str(config.channels["email"].url)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_the_lifecycle_from_the_command_line(config, session, clock):
    create_user(session, email="boss@example.com", password="long-enough-1", role="approver")
    create_user(session, email="ann@example.com", password="long-enough-1", role="marketer")
    make_contact(session, now=clock.now())
    template = create_template(session, name="T", channel="sms", body="Hi {{ contact.first_name }}", now=clock.now())
    campaign = create_campaign(session, name="Spring", channel="sms", template_id=template.id, now=clock.now())
    cid = str(campaign.id)
    assert "say who submits with --as EMAIL" in herald(config, "campaigns", "submit", cid).output
    assert "is now pending_approval" in herald(config, "campaigns", "submit", cid, "--as", "ann@example.com").output
    refused = herald(config, "campaigns", "approve", cid, "--as", "ann@example.com")
    assert refused.exit_code == 1 and "may not approve" in refused.output
    assert "is now scheduled" in herald(config, "campaigns", "approve", cid, "--as", "boss@example.com",
                                        "--comment", "fine").output
    estimate = json.loads(herald(config, "campaigns", "estimate", cid).output)
    assert (estimate["sendable"], estimate["segments"]) == (1, 1)
    session.expire_all()
    # The command line reads the system clock, so the history stays in order only on the same clock.
    send_campaign(session, campaign.id, now=SystemClock().now(), channel_description="log://", dry_run=True)
    assert "is now paused" in herald(config, "campaigns", "pause", cid).output
    assert "is now running" in herald(config, "campaigns", "resume", cid, "--as", "ann@example.com").output
    cancelled = herald(config, "campaigns", "cancel", cid, "--comment", "moved")
    assert "1 messages not yet sent are cancelled" in cancelled.output
    history = herald(config, "campaigns", "history", cid).output.splitlines()
    assert [line.split()[1:4] for line in history] == [
        ["-", "->", "draft"], ["draft", "->", "pending_approval"], ["pending_approval", "->", "scheduled"],
        ["scheduled", "->", "running"], ["running", "->", "paused"], ["paused", "->", "running"],
        ["running", "->", "cancelled"]]
    assert history[2].endswith("boss@example.com  fine")
    assert history[-1].endswith("Herald  moved")
    session.expire_all()
    assert get_campaign(session, campaign.id).status == "cancelled"


def test_fallback_from_the_command_line(config, session, clock):
    make_contact(session, now=clock.now(), phone=None)
    sms = create_template(session, name="S", channel="sms", body="Gate B7", now=clock.now())
    mail = create_template(session, name="M", channel="email", subject="Gate", html="<p>B7</p>", now=clock.now())
    notice = create_event_notice(session, name="Gate", channel="sms", template_id=sms.id, now=clock.now())
    send_campaign(session, notice.id, now=clock.now(), channel_description="log://", dry_run=True)
    result = herald(config, "campaigns", "fallback", str(notice.id), "--template", str(mail.id))
    assert result.exit_code == 0, result.output
    assert "re-sends by email to 1 contacts" in result.output
    again = herald(config, "campaigns", "fallback", str(notice.id), "--template", str(mail.id))
    assert again.exit_code == 1 and "already re-sent" in again.output
