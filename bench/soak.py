"""Soak benchmark (issue 12, "Keep it true"): the delivery guarantees under crashes, faults and throttling.

    .venv/bin/python bench/soak.py [--quick] [--messages 50000] [--seconds 780] [--kill-every 10]
                                   [--workers 3] [--threads 2] [--sms-rate 40] [--email-rate 40]
                                   [--faults 1] [--seed 12] [--keep]

Scaled mode as deployed, on a fresh PostgreSQL database (HERALD_TEST_PG_URL or postgres@127.0.0.1:5432)
and Redis (--redis-url, a database of its own, flushed): TWO `herald scheduler` processes (one leads, one
stands by) and --workers `herald worker` processes (Celery over Redis, --threads sender threads each).
The providers run in processes of their own (bench/soak_providers.py): the fake Twilio allowing
--sms-rate requests a second (429 / 20429 above it) and the fake SMTP server allowing --email-rate
(454 Throttling failure above it), both injecting random faults — 5xx bursts, 429 with and without
Retry-After, hangs, answers lost after the message was kept, dropped connections; 421, 450, drops before
and after DATA, late and slow answers — plus a few recipients each provider refuses for good.

--messages are split between SMS and email, each into at-most-once and at-least-once campaigns (two
each: one sent now, one scheduled for the schedulers to fire a minute or so in). While they send, a chaos
loop SIGKILLs a random worker or scheduler (the older one, usually the leader, more often) every --kill-every
seconds (± half) and restarts it. When everything is sent, or after --seconds, the faults stop (the rates
stay), the rows settle, the processes stop, and `herald campaigns reconcile ID --settled-seconds 0` asks
the Twilio fake about every at-most-once campaign's `unknown` rows.

Then it counts from both sides — what each provider kept, per recipient, and every row — and prints one
table: duplicates (and whether the copies carried one Idempotency-Key / Message-ID), losses, `unknown`
rows before and after reconciling and how they were resolved, stuck rows, wrongly failed rows, rows
`sent` that the provider does not have, and below it the throughput as a share of each provider's
allowed rate, the kills and the faults injected. It exits 1 if a guarantee is broken: a duplicate at
most once, a loss or an `unknown` row at least once, a stuck row, a wrongly failed row, a row `sent`
the provider never had, a reconciliation the provider's records contradict, or a campaign fired twice.

Exit status: 0 all held, 1 a guarantee broken, 2 none broken but rows were left unsent when time ran out.
--quick: 2,000 messages, kills every 6 s, 8-minute cap. The machine is shared and has 2 cores: the
load average is printed at the start and the end; throughput says as much about the CPU as about Herald
(a worker that needs 20 s to start on a loaded machine and is killed every 20 s sends little).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch_db import scratch_database  # noqa: E402 - the sibling bench modules, found through the line above
from soak_count import kept_by_providers, print_report, read_rows, tally  # noqa: E402
from soak_fleet import Fleet, Providers  # noqa: E402
from soak_plan import Plan, make_plan, seed_campaigns  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from campaigns import Message, Run  # noqa: E402
from core.db import Database  # noqa: E402
from core.migrate import upgrade_database  # noqa: E402

PG_URL = os.environ.get("HERALD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
UNFINISHED = ("waiting", "pending", "sending")
SUMMARY = re.compile(r"(\d+) found at the provider \(now sent\), (\d+) never received \(failed\), (\d+) never "
                     r"received \(sent again\), (\d+) still unknown, (\d+) on a channel that cannot be asked")


def herald_env(args: argparse.Namespace, url: str, workdir: Path, sms_url: str, email_url: str) -> dict[str, str]:
    """The environment every Herald process of the run gets (as tests/e2e/conftest.py builds it)."""
    config_file = workdir / "config.toml"
    config_file.write_text("# soak benchmark: everything from the environment\n")
    return dict(os.environ, PYTHONPATH=str(REPO), **{
        "HERALD_CONFIG": str(config_file),
        "HERALD_ENV": "test",
        "HERALD_DATABASE_URL": url,
        "HERALD_DATA_DIR": str(workdir / "var"),
        "HERALD_BASE_URL": "http://127.0.0.1:9",  # no web server: the fakes post no callbacks here
        "HERALD_CHANNELS_SMS_URL": f"{sms_url}&rate={args.sms_rate:g}/second",
        "HERALD_CHANNELS_EMAIL_URL": f"{email_url}&rate={args.email_rate:g}/second",
        "HERALD_DEFAULT_REGION": "US",
        "HERALD_CAMPAIGNS_QUIET_HOURS": "off",
        "HERALD_SENDER_MODE": "celery",
        "HERALD_CELERY_BROKER_URL": args.redis_url,
        "HERALD_SENDER_BATCH_SIZE": str(args.batch_size),
        "HERALD_SENDER_LEASE_SECONDS": str(args.lease_seconds),
        "HERALD_SENDER_POLL_SECONDS": "1",
        "HERALD_SENDER_RETRY_BASE_SECONDS": "2",  # backoffs of 2, 4, 8, 16 s keep the run short
        "HERALD_SENDER_BREAKER_COOLDOWN_SECONDS": str(args.breaker_cooldown),
    })


def unfinished(database: Database, plan: Plan) -> int | None:
    """Rows not settled yet; None while a scheduled campaign has not fired."""
    with database.session() as session:
        fired = session.scalar(select(func.count(func.distinct(Run.campaign_id))))
        left = session.scalar(select(func.count()).select_from(Message).where(Message.status.in_(UNFINISHED)))
    return None if fired < len(plan.campaigns) else left


def chaos(fleet: Fleet, database: Database, plan: Plan, args: argparse.Namespace, rng: random.Random) -> None:
    """SIGKILL a random worker or scheduler every --kill-every seconds (± half) and restart it, until every
    campaign has fired and nothing is left to send, or --seconds have passed."""
    deadline = time.monotonic() + args.seconds
    next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * args.kill_every
    last_progress = 0.0
    while time.monotonic() < deadline:
        time.sleep(1)
        left = unfinished(database, plan)
        if left == 0:
            return
        if time.monotonic() - last_progress > 30:
            last_progress = time.monotonic()
            print(f"  {time.monotonic() - fleet.began:5.0f}s  unfinished rows: {'?' if left is None else left:>6}  "
                  f"kills: {dict(fleet.kills)}  load: {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        if args.kill_every > 0 and time.monotonic() >= next_kill:
            fleet.kill_one(rng)
            next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * args.kill_every
    print(f"  --seconds {args.seconds:g} passed with rows still unfinished", file=sys.stderr)


def settle(database: Database, plan: Plan, seconds: float) -> float:
    """Wait, with no kills and no faults, until no row is left to send or `seconds` pass; the seconds taken."""
    began = time.monotonic()
    while time.monotonic() - began < seconds and unfinished(database, plan) != 0:
        time.sleep(2)
    return time.monotonic() - began


def reconcile(env: dict[str, str], campaign_ids: list[int], workdir: Path) -> dict[str, int]:
    """`herald campaigns reconcile ID --settled-seconds 0` for each campaign, as an operator would; the counts
    summed."""
    totals = dict.fromkeys(("found", "not_received", "resent", "still_unknown", "cannot_ask"), 0)
    for campaign_id in campaign_ids:
        done = subprocess.run([sys.executable, "-m", "web.cli", "campaigns", "reconcile", str(campaign_id),
                               "--settled-seconds", "0"], env=env, cwd=workdir, capture_output=True, text=True,
                              timeout=600)
        match = SUMMARY.search(done.stdout)
        if done.returncode != 0 or match is None:
            raise SystemExit(f"herald campaigns reconcile {campaign_id} failed:\n{done.stdout}\n{done.stderr}")
        for key, value in zip(totals, match.groups(), strict=True):
            totals[key] += int(value)
    return totals


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 messages, kills every 6 s, 8-minute cap")
    parser.add_argument("--messages", type=int, default=50_000, help="half SMS, half email")
    parser.add_argument("--seconds", type=float, default=780, help="chaos phase cap")
    parser.add_argument("--settle-seconds", type=float, default=150, help="after the chaos, for the rows to settle")
    parser.add_argument("--kill-every", type=float, default=10, help="seconds between SIGKILLs (0: none)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="sender threads per worker")
    parser.add_argument("--sms-rate", type=float, default=40, help="the Twilio fake's allowed rate R, and Herald's")
    parser.add_argument("--email-rate", type=float, default=40, help="the SMTP fake's allowed rate, and Herald's")
    parser.add_argument("--faults", type=float, default=1.0, help="fault frequency multiplier (0: none)")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--lease-seconds", type=int, default=20)
    parser.add_argument("--breaker-cooldown", type=int, default=15,
                        help="seconds a provider's breaker stays open after 5 failures in a row")
    parser.add_argument("--timeout", type=float, default=3, help="Herald's provider timeout, seconds")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11", help="flushed at the start")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="keep the database and the process logs")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.kill_every, args.seconds = 2_000, 6, 480
    return args


def main() -> None:
    args = parse_args()
    logging.disable(logging.WARNING)
    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="herald-soak-"))
    plan = make_plan(args.messages, rng, faults=args.faults)
    print(f"soak: {args.messages:,} messages in {len(plan.campaigns)} campaigns; {args.workers} workers x "
          f"{args.threads} threads, 2 schedulers; R = {args.sms_rate:g} SMS/s, {args.email_rate:g} email/s; "
          f"kills every ~{args.kill_every:g}s; logs in {workdir}", file=sys.stderr, flush=True)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # no tasks or limiter windows from an earlier run
    with scratch_database(PG_URL, "soak", keep=args.keep) as url:
        upgrade_database(url)
        database = Database(url)
        providers = Providers(plan, args, workdir)
        fleet = None
        try:
            env = herald_env(args, url, workdir, providers.sms_url, providers.email_url)
            campaign_ids = seed_campaigns(database, plan)
            fleet = Fleet(env, workdir, workers=args.workers, threads=args.threads)
            chaos(fleet, database, plan, args, rng)
            chaos_seconds = time.monotonic() - fleet.began
            providers.calm()
            settled = settle(database, plan, args.settle_seconds + args.lease_seconds)
            fleet.stop()
            before = read_rows(database)
            resolved = reconcile(env, [campaign_ids[c.name] for c in plan.campaigns
                                       if c.guarantee == "at_most_once"], workdir)
            after = read_rows(database)
            seen = providers.stop()
        finally:
            if fleet is not None:
                fleet.stop()
            providers.stop()
            database.dispose()
    if seen is None:
        raise SystemExit(f"a provider process died before saying what it saw; see {workdir}")
    figures = tally(plan, campaign_ids, before, after, kept_by_providers(seen))
    broken = print_report(figures, args=args, seen=seen, kills=fleet.kills,
                          leaderships=fleet.log_lines("event=scheduler_started"),
                          fenced=fleet.log_lines("event=job_fenced"), resolved=resolved,
                          load=(load_before, os.getloadavg()), seconds=(chaos_seconds, settled))
    incomplete = figures["all"]["left unsent (the run ended first)"] > 0
    if args.keep or broken or incomplete:
        print(f"process logs: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if broken else 2 if incomplete else 0)


if __name__ == "__main__":
    main()
