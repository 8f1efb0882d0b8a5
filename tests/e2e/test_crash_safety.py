"""Crash safety (DESIGN §3): a sender process killed with SIGKILL at random points during a
5,000-recipient email campaign, four times, restarted each time until the campaign is done.

at_most_once: nobody gets two messages and every row is accounted for — the rows in flight at a
kill become `unknown` and the report shows them. at_least_once: nobody is lost and every row ends
sent; the only duplicates are rows that were in flight at a kill. Either way a kill leaves in flight
only the one window of messages the sender may have handed over since it last recorded (RECORD_EVERY,
campaigns/delivery/answer_groups.py); the rest of its claimed batch was never handed over and is sent later, once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text

from audiences import Contact
from campaigns import Message, campaign_report, create_campaign, create_template, release_expired_leases, send_campaign
from campaigns.delivery.answer_groups import RECORD_EVERY
from campaigns.results.report_settings import ReportSettings
from core.clock import SystemClock

USD = ReportSettings("USD")  # reports in US dollars, no other currency converted
RECIPIENTS = 5000
KILLS = 4
SEED = 20261123
BATCH = 50  # small next to 5,000, so every kill lands mid-campaign with up to a batch claimed and in flight

# A restarted sender, as a restarted `herald serve` or worker would run it: send until nothing is due.
# Its clock runs HERALD_TEST_CLOCK_OFFSET_SECONDS ahead: each kill is followed by "the leases expire"
# (an hour later), and the restarted sender must live in that later time too, or the rows the
# expiry made due again (at_least_once) would not be due yet for it.
SENDER = """
import os
from datetime import timedelta
from core.config import load_config
from core.db import Database
from core.clock import SystemClock
from campaigns.delivery.sender import send_until_idle
class Later(SystemClock):
    def now(self):
        return super().now() + timedelta(seconds=float(os.environ["HERALD_TEST_CLOCK_OFFSET_SECONDS"]))
config = load_config()
print(send_until_idle(config, Database(str(config.database_url)), Later()))
"""
LATER = timedelta(hours=1)  # longer than any lease
SENDER_APP_NAME = "herald-crash-test-sender"  # libpq reads PGAPPNAME: the sender's sessions carry this name


def _seed(database, guarantee: str) -> int:
    now = SystemClock().now()
    with database.session() as session:
        session.execute(insert(Contact), [
            {"email": f"guest{i}@example.com", "first_name": f"G{i}", "last_name": "", "company": "",
             "attributes": {}, "created_at": now, "updated_at": now} for i in range(RECIPIENTS)])
        session.commit()
        template = create_template(session, name="t", channel="email", subject="Your seat, {{ contact.first_name }}",
                                   text="Row {{ contact.id }}", now=now)
        campaign = create_campaign(session, name="seats", channel="email", template_id=template.id,
                                   guarantee=guarantee, now=now)
        send_campaign(session, campaign.id, now=now, channel_description="smtp", dry_run=False)
        return campaign.id


def _kill_at_random_points(database, env: dict[str, str], fake_smtp, rng: random.Random) -> list[set[str]]:
    """Start a sender, let it send for a random while, SIGKILL it, expire its leases; KILLS times.

    Returns, per kill, the addresses of the rows it left in flight: claimed and perhaps handed over.
    """
    in_flight: list[set[str]] = []
    for kill in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", SENDER], env=_at(env, kill), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        try:
            received = len(fake_smtp.messages)
            deadline = time.monotonic() + 30
            while len(fake_smtp.messages) == received and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)  # until this sender is really sending
            # Kill after a random number of further messages, not a random time: however fast the
            # machine, the four kills together stay well short of the whole campaign.
            target = len(fake_smtp.messages) + rng.randint(20, 900)
            while len(fake_smtp.messages) < target and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)
            assert proc.poll() is None, f"the sender ended before the kill:\n{proc.stdout.read().decode()}"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        _wait_for_sessions_to_end(database)
        with database.session() as session:
            claimed = set(session.scalars(select(Message.address).where(Message.status == "sending")))
            handed_over = set(session.scalars(select(Message.address).where(Message.status == "sending",
                                                                            Message.handed_over.is_(True))))
            # Time passes: the dead sender's leases expire and are settled by the campaign's guarantee.
            settled = release_expired_leases(session, now=SystemClock().now() + (kill + 1) * LATER)
        assert settled == len(claimed)
        # One sender thread: at most one window in flight, whatever the batch size (50).
        assert len(handed_over) <= RECORD_EVERY, f"kill {kill}: {len(handed_over)} rows in flight"
        in_flight.append(handed_over)
    return in_flight


def _wait_for_sessions_to_end(database, seconds: float = 10) -> None:
    """Until PostgreSQL has ended the killed sender's sessions: a COMMIT it sent just before the kill may
    still be finishing, and counting the claimed rows before it lands would miss them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with database.engine.connect() as conn:
            left = conn.scalar(text("SELECT count(*) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND application_name = :name"),
                               {"name": SENDER_APP_NAME})
        if not left:
            return
        time.sleep(0.02)
    raise AssertionError(f"the killed sender's database sessions were still open after {seconds}s")


def _at(env: dict[str, str], hours_later: int) -> dict[str, str]:
    return dict(env, HERALD_TEST_CLOCK_OFFSET_SECONDS=str((hours_later * LATER).total_seconds()),
                PGAPPNAME=SENDER_APP_NAME)


def _finish(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-c", SENDER], env=_at(env, KILLS), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("guarantee", ["at_most_once", "at_least_once"])
def test_sender_killed_four_times_keeps_the_campaign_guarantee(guarantee, backend, database, fake_smtp,
                                                               subprocess_env):
    campaign_id = _seed(database, guarantee)
    env = dict(subprocess_env, HERALD_SENDER_BATCH_SIZE=str(BATCH),
               HERALD_CHANNELS_EMAIL_URL=fake_smtp.url + "?from=box@tickets.example.com&rate=100000/second")

    in_flight = _kill_at_random_points(database, env, fake_smtp, random.Random(SEED))
    _finish(env)

    with database.session() as session:
        report = campaign_report(session, campaign_id, USD).to_dict()
        statuses = Counter(session.scalars(select(Message.status).where(Message.campaign_id == campaign_id)))
        sent_addresses = set(session.scalars(select(Message.address).where(Message.status == "sent")))
    received = Counter(rcpt for m in fake_smtp.messages for rcpt in m.rcpt_tos)
    everyone = {f"guest{i}@example.com" for i in range(RECIPIENTS)}
    # A kill between two batches leaves nothing claimed; with a batch in flight nearly all the time,
    # most kills catch one, and the test is only meaningful if some did.
    assert sum(len(rows) for rows in in_flight) > 0, "no kill caught a batch in flight"
    assert report["recipients"] == RECIPIENTS and report["pending"] == 0

    if guarantee == "at_most_once":
        assert max(received.values()) == 1, "a recipient got two messages"
        assert statuses["sent"] + statuses["unknown"] == RECIPIENTS, statuses  # every row accounted for
        assert report["sent"] + report["unknown"] == RECIPIENTS
        assert report["unknown"] == sum(len(rows) for rows in in_flight)  # shown, not hidden
        reached = set(received) & set().union(*in_flight)
        print(f"unknown: {report['unknown']} after {KILLS} kills, of which {len(reached)} reached the server")
        assert len(reached) <= KILLS * RECORD_EVERY
        assert sent_addresses <= set(received)  # every row marked sent really reached the server
        assert set(received) <= everyone
    else:
        assert set(received) == everyone, f"lost: {sorted(everyone - set(received))[:10]}"
        duplicated = {address for address, count in received.items() if count > 1}
        assert duplicated <= set().union(*in_flight), "a duplicate that was not in flight at a kill"
        assert statuses == Counter({"sent": RECIPIENTS}), statuses
        assert report["sent"] == RECIPIENTS and report["unknown"] == 0
