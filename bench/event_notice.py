"""Benchmark (issue 4, "Event notice"): 50,000 SMS to the fake Twilio at an allowed 500 msg/s.

    .venv/bin/python bench/event_notice.py [--contacts 50000] [--rate 500] [--processes 2] [--threads 4]
                                           [--batch-size 100] [--latency 0.2]

The floor is contacts / rate (100 s for the defaults): the rate limit allows nothing faster. On a fresh
PostgreSQL database (HERALD_TEST_PG_URL or postgres@127.0.0.1:5432) with N contacts and one event notice,
with the fake Twilio Messages API in its own process (tests/fakes/fake_twilio.py, real HTTP, the real
Twilio SDK) and --processes sender processes of --threads threads each (the embedded sender's shape:
each thread its own channel and Dispatcher; one rate limiter for all — in Redis, db 15, across
processes, as in scaled mode), it measures the time from "send" (send_campaign: the outbox is
materialised) to the last message the provider accepted (the latest sent_at), and prints it with the
floor and their ratio (target: within 5% of the floor, a ratio of at most 1.05). The moving-window
limiter lets the first `rate` messages through at once, so the strict floor is (N - rate) / rate; both
are printed. Afterwards it checks each contact got exactly one message at the fake.

--latency S makes the fake take S seconds to answer each request (issue 14: real providers answer in
~200 ms, loopback fakes in microseconds); its threading HTTP server answers many requests at once, so the
delay is per request, never a queue. `--latency 0.2 --processes 1 --threads 2` is one default embedded
`herald serve` against a provider 200 ms away; --concurrency 1 sends one request at a time per thread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# The fake provider in its own process, so its HTTP handling does not share a GIL with the senders.
FAKE = r"""
import sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.fake_twilio import FakeTwilio
fake = FakeTwilio(delay_seconds=float(sys.argv[2])).start()
print(fake.channel_url(), flush=True)
sys.stdin.readline()
import resource
messages = fake.messages
usage = resource.getrusage(resource.RUSAGE_SELF)
print(len(messages), len({m["to"] for m in messages}), usage.ru_utime + usage.ru_stime, flush=True)
fake.stop()
"""

# One sender process: --threads threads, each with its own channels and Dispatcher, sharing one limiter.
SENDER = r"""
import json, resource, sys, threading
sys.path.insert(0, sys.argv[1])
from campaigns.delivery.sender import make_dispatcher, open_configured_channels
from channels import RateLimiter
from core.clock import SystemClock
from core.config import load_config
from core.db import Database
settings = json.loads(sys.argv[2])
threads, limiter_uri = settings.pop("threads"), settings.pop("limiter")
config = load_config(settings.pop("config_file"), settings)
database = Database(str(config.database_url))
limiter = RateLimiter(limiter_uri)
handled = []
def work():
    channels = open_configured_channels(config)
    dispatcher = make_dispatcher(config, database, channels, limiter, SystemClock())
    total = 0
    while n := dispatcher.dispatch_due():
        total += n
    handled.append(total)
    dispatcher.close()
    for channel in channels.values():
        channel.close()
with database.engine.connect():
    pass
print("ready", flush=True)
sys.stdin.readline()
workers = [threading.Thread(target=work) for _ in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"handled": sum(handled), "cpu_seconds": usage.ru_utime + usage.ru_stime}), flush=True)
"""


def create_database():
    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("HERALD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"herald_event_notice_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin_url.rsplit("/", 1)[0] + "/" + name, admin, name


def prepare(url: str, n: int) -> int:
    """Contacts with phones and a draft event notice to all of them; returns its id."""
    from sqlalchemy import text

    from campaigns import create_event_notice, create_template
    from core.clock import SystemClock
    from core.db import Database
    from core.migrate import upgrade_database

    upgrade_database(url)
    database = Database(url)
    now = SystemClock().now()
    with database.engine.begin() as conn:
        conn.execute(text("INSERT INTO contacts (phone, first_name, last_name, company, country, locale, attributes, "
                          "created_at, updated_at) SELECT '+86138' || lpad(g::text, 8, '0'), 'Ann', 'Lee', '', 'CN', "
                          "'zh_CN', '{}', :now, :now FROM generate_series(1, :n) AS g"), {"n": n, "now": now})
    with database.session() as session:
        template = create_template(session, name="Gate change", channel="sms",
                                   body="{{ contact.first_name }}: your gate moved to B7. Boarding 18:40.", now=now)
        notice = create_event_notice(session, name="Gate change", channel="sms", template_id=template.id, now=now)
        notice_id = notice.id
    database.dispose()
    return notice_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the fake takes to answer each request")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="[sender] concurrency: requests in flight per thread (1: one at a time, as before)")
    parser.add_argument("--redis-url", default=os.environ.get("HERALD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()

    from sqlalchemy import func, select, text

    from campaigns import campaign_status, send_campaign
    from campaigns.models import Message
    from core.clock import SystemClock
    from core.db import Database

    fake = subprocess.Popen([sys.executable, "-c", FAKE, str(REPO), str(args.latency)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    channel_url = fake.stdout.readline().strip() + f"&rate={args.rate}/second"
    url, admin, name = create_database()
    senders: list[subprocess.Popen] = []
    try:
        notice_id = prepare(url, args.contacts)
        workdir = Path(tempfile.mkdtemp())
        (workdir / "config.toml").write_text("")
        limiter = "memory://" if args.processes == 1 else args.redis_url
        if args.processes > 1:
            import redis

            redis.Redis.from_url(args.redis_url).flushdb()  # a fresh window for the limiter
        settings = {"config_file": str(workdir / "config.toml"), "HERALD_DATABASE_URL": url,
                    "HERALD_DATA_DIR": str(workdir), "HERALD_ENV": "test", "HERALD_SCHEDULER_ENABLED": "false",
                    "HERALD_SENDER_BATCH_SIZE": str(args.batch_size), "HERALD_CHANNELS_SMS_URL": channel_url,
                    "HERALD_SENDER_CONCURRENCY": str(args.concurrency),
                    "threads": args.threads, "limiter": limiter}
        senders = [subprocess.Popen([sys.executable, "-c", SENDER, str(REPO), json.dumps(settings)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                   for _ in range(args.processes)]
        for proc in senders:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a sender did not start; run it by hand to see why")
        database = Database(url)
        started_at = SystemClock().now()
        with database.session() as session:
            send_campaign(session, notice_id, now=started_at, channel_description="twilio (fake)", dry_run=False)
        materialised = (SystemClock().now() - started_at).total_seconds()
        for proc in senders:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = [json.loads(proc.stdout.readline()) for proc in senders]
        handled = sum(r["handled"] for r in reports)
        sender_cpu = sum(r["cpu_seconds"] for r in reports)
        with database.session() as session:
            last_accepted = session.scalar(select(func.max(Message.sent_at)).where(Message.campaign_id == notice_id))
            counts = {k: v for k, v in campaign_status(session, notice_id).counts.items() if v}
        database.dispose()
        fake.stdin.write("done\n")
        fake.stdin.flush()
        accepted_text, distinct_text, fake_cpu_text = fake.stdout.readline().split()
        accepted, distinct, fake_cpu = int(accepted_text), int(distinct_text), float(fake_cpu_text)
        if counts != {"sent": args.contacts} or accepted != args.contacts or distinct != args.contacts:
            raise SystemExit(f"expected {args.contacts} sent once each; statuses {counts}, the fake accepted "
                             f"{accepted} for {distinct} numbers, the senders handled {handled}")
        elapsed = (last_accepted - started_at).total_seconds()
        floor = args.contacts / args.rate
        strict = (args.contacts - args.rate) / args.rate
        print(f"{args.contacts:,} SMS at {args.rate}/s, {args.processes} process(es) x {args.threads} thread(s), "
              f"batch {args.batch_size}, provider latency {1000 * args.latency:.0f} ms, "
              f"{args.concurrency} in flight per thread")
        print(f"materialised in {materialised:.2f} s; the fake accepted each once")
        print(f"send -> last accepted: {elapsed:.1f} s; floor {floor:.0f} s (strict {strict:.0f} s)")
        print(f"ratio to the floor: {elapsed / floor:.3f}  (target: at most 1.05); to the strict floor: "
              f"{elapsed / strict:.3f}")
        # Whether the box could go at the allowed rate at all: CPU per message (process start-up included), on
        # both sides of the HTTP call.
        per_message = (sender_cpu + fake_cpu) / args.contacts
        print(f"CPU per message: senders {1000 * sender_cpu / args.contacts:.2f} ms, fake Twilio "
              f"{1000 * fake_cpu / args.contacts:.2f} ms -> {args.rate}/s needs {per_message * args.rate:.2f} cores; "
              f"this box has {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at the end")
    finally:
        for proc in senders:
            if proc.poll() is None:
                proc.kill()
        if fake.poll() is None:
            fake.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
