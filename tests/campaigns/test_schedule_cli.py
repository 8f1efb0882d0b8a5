"""`herald campaigns schedule|next|runs`: schedules from the command line, checked through the same
domain the page and the API use, and each run's figures as the report counts them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import select, update

from campaigns import create_campaign, create_event_notice, create_template, get_campaign
from campaigns.firing import fire_due_campaign
from campaigns.models import Message
from campaigns.schedules import ScheduleDefaults
from core.clock import SystemClock
from tests.campaigns.factories import make_contact


def herald(config, *args: str, **env: str):
    from web.cli import cli

    environ = {"HERALD_DATABASE_URL": str(config.database_url), "HERALD_DATA_DIR": str(config.data_dir),
               "HERALD_ENV": "test", "HERALD_SCHEDULER_ENABLED": "false", "HERALD_APP_DEFAULT_TIMEZONE": "UTC",
               "HERALD_CHANNELS_SMS_URL": str(config.channels["sms"].url),
               "HERALD_CHANNELS_EMAIL_URL": str(config.channels["email"].url), **env}
    return CliRunner().invoke(cli, list(args), env=environ, catch_exceptions=False)


def draft(session, name: str = "Weekly"):
    now = SystemClock().now()
    template = create_template(session, name=name, channel="sms", body="Hi {{ contact.first_name }}", now=now)
    return create_campaign(session, name=name, channel="sms", template_id=template.id, now=now)


def test_a_cron_schedule_is_armed_its_firings_listed_and_each_run_reported(config, session):
    for _ in range(3):
        make_contact(session, now=SystemClock().now())
    campaign = draft(session)
    cid = str(campaign.id)
    armed = herald(config, "campaigns", "schedule", cid, "--cron", "0 10 * * 1", "--runs", "3",
                   "--zone", "Asia/Shanghai")
    assert armed.exit_code == 0, armed.output
    assert "cron '0 10 * * 1' in Asia/Shanghai, at most 3 runs" in armed.output
    assert "scheduled; first firing" in armed.output

    listed = herald(config, "campaigns", "next", cid).output.splitlines()
    firings = [line.split() for line in listed[1:]]
    assert len(firings) == 3  # at most 3 runs, none fired yet
    for index, fields in enumerate(firings, 1):  # Mondays 10:00 in Shanghai are 02:00 UTC
        assert fields[0] == str(index) and fields[2:4] == ["02:00", "UTC"] and fields[5:8] == ["10:00", "Mon",
                                                                                                  "Asia/Shanghai"]
    first = datetime.fromisoformat(json.loads(herald(config, "campaigns", "next", cid, "--format", "json").output)
                                   ["next_firings"][0])
    assert first == datetime.fromisoformat(f"{firings[0][1]}T02:00+00:00")

    assert "has no runs yet" in herald(config, "campaigns", "runs", cid).output
    session.expire_all()
    run = fire_due_campaign(session, campaign.id, now=first, channel_description="log://test", dry_run=True,
                            defaults=ScheduleDefaults()).run
    assert run is not None
    ids = list(session.scalars(select(Message.id).where(Message.run_id == run.id).order_by(Message.id)))
    session.execute(update(Message).where(Message.id == ids[0]).values(status="delivered", sent_at=first))
    session.execute(update(Message).where(Message.id == ids[1]).values(status="failed", sent_at=None,
                                                                       error_code="21211", error_reason="bad To"))
    session.commit()

    text = herald(config, "campaigns", "runs", cid).output.splitlines()
    assert text[1].split()[:10] == [str(run.id), first.strftime("%Y-%m-%d"), "02:00", run.status, "3", "1", "1",
                                    "1", "0", "1"]
    assert text[1].split()[10] == run.occasion_key
    one = json.loads(herald(config, "campaigns", "runs", cid, "--run", str(run.id), "--format", "json").output)
    got = one["items"][0]
    assert (got["recipients"], got["sent"], got["delivered"], got["failed"], got["waiting"]) == (3, 1, 1, 1, 1)
    assert got["failures"] == [{"code": "21211", "reason": "bad To", "count": 1}]
    assert "failed 1: 21211 bad To" in herald(config, "campaigns", "runs", cid, "--run", str(run.id)).output
    missing = herald(config, "campaigns", "runs", cid, "--run", str(run.id + 99))
    assert missing.exit_code == 1 and f"campaign {cid} has no run {run.id + 99}" in missing.output
    assert len(herald(config, "campaigns", "next", cid).output.splitlines()) == 1 + 2  # two runs left


def test_birthday_and_holiday_schedules_and_arming_a_saved_one(config, session):
    campaign = draft(session, "Birthday")
    cid = str(campaign.id)
    saved = herald(config, "campaigns", "schedule", cid, "--birthday", "--recipient-zone", "--offset-days", "-3",
                   "--save-only")
    assert saved.exit_code == 0, saved.output
    assert "3 days before birthday at 09:00 in each recipient's time zone" in saved.output
    session.expire_all()
    assert get_campaign(session, campaign.id).status == "draft"
    session.rollback()  # SQLite: the test's read must not hold the database while the command writes
    lines = herald(config, "campaigns", "next", cid).output.splitlines()
    assert len(lines) == 11 and all(line.endswith("09:00 in each recipient's time zone") for line in lines[1:])
    armed = herald(config, "campaigns", "schedule", cid)  # arms the saved schedule
    assert armed.exit_code == 0 and "scheduled; first firing" in armed.output
    refused = herald(config, "campaigns", "schedule", cid, "--clear")
    assert refused.exit_code == 1 and "scheduled" in refused.output  # no longer a draft: its schedule is fixed

    holiday = draft(session, "Spring Festival")
    hid = str(holiday.id)
    result = herald(config, "campaigns", "schedule", hid, "--holiday", "Chinese New Year (Spring Festival)",
                    "--country", "CN", "--time", "08:30", "--zone", "Asia/Shanghai")
    assert result.exit_code == 0, result.output
    upcoming = herald(config, "campaigns", "next", hid, "--count", "2").output.splitlines()[1:]
    festival = {"2027": "2027-02-06", "2028": "2028-01-26", "2029": "2029-02-13"}
    this_year = SystemClock().now().year
    expected = [festival[str(y)] for y in range(this_year, this_year + 4) if str(y) in festival][:2]
    assert [line.split()[4] for line in upcoming] == expected
    assert all("08:30" in line and "Asia/Shanghai" in line for line in upcoming)

    plain = draft(session, "By hand")
    herald(config, "campaigns", "schedule", str(plain.id), "--at", "2031-05-01T09:00", "--save-only")
    cleared = herald(config, "campaigns", "schedule", str(plain.id), "--clear")
    assert "has no schedule: it is sent by hand" in cleared.output
    assert "has no schedule" in herald(config, "campaigns", "next", str(plain.id)).output


def test_a_schedule_the_options_cannot_describe_is_refused_naming_the_option(config, session):
    cid = str(draft(session).id)

    def refused(*args: str) -> str:
        result = herald(config, "campaigns", "schedule", cid, *args)
        assert result.exit_code != 0, result.output
        return result.output

    assert "say when it sends: --at, --cron, --birthday, --date or --holiday" in refused()
    assert "give one of --at / --cron, not both" in refused("--at", "2031-05-01T09:00", "--cron", "0 10 * * 1")
    assert "--until does not apply to --at; it goes with --cron" in refused("--at", "2031-05-01T09:00",
                                                                            "--until", "2031-06-01")
    assert '--cron: cron rule "0 10 * *" has 4 fields' in refused("--cron", "0 10 * *", "--runs", "2")
    assert "--until or --runs: a recurring campaign needs an end" in refused("--cron", "0 10 * * 1")
    assert "--holiday: " in refused("--holiday", "Christmas Day", "--country", "CN")
    assert "--at: " in refused("--at", "next tuesday")
    assert "already past" in refused("--at", "2001-05-01T09:00")
    assert "--zone: " in refused("--at", "2031-05-01T09:00", "--zone", "Mars/Base")
    assert "no user with email nobody@example.com" in refused("--at", "2031-05-01T09:00", "--as",
                                                              "nobody@example.com")

    notice = create_event_notice(session, name="Gate", channel="sms", template_id=get_campaign(
        session, int(cid)).template_id, now=SystemClock().now())
    out = herald(config, "campaigns", "schedule", str(notice.id), "--at", "2031-05-01T09:00")
    assert out.exit_code == 1 and "is an event notice, which is sent at once" in out.output
    assert "campaign 99999 does not exist" in herald(config, "campaigns", "next", "99999").output


def test_with_approval_required_the_schedule_is_saved_and_submitting_is_named(config, session):
    campaign = draft(session)
    result = herald(config, "campaigns", "schedule", str(campaign.id), "--at", "2031-05-01T09:00",
                    HERALD_APPROVAL_REQUIRED="true")
    assert result.exit_code == 0, result.output
    assert f"herald campaigns submit {campaign.id} --as EMAIL" in result.output
    session.expire_all()
    saved = get_campaign(session, campaign.id)
    assert (saved.status, saved.schedule["send_at"]) == ("draft", "2031-05-01T09:00")
    cid = str(saved.id)
    session.rollback()
    assert datetime(2031, 5, 1, 9, tzinfo=UTC).isoformat() in herald(
        config, "campaigns", "next", cid, "--format", "json").output
