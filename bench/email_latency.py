"""Benchmark (issue 14, item 1): email from ONE embedded sender to an SMTP server that is far away.

    .venv/bin/python bench/email_latency.py [--contacts 5000] [--reply-ms 20] [--smtp-concurrency 8]
                                            [--threads 2] [--db postgres|sqlite]

The fake SMTP server (tests/fakes/fake_smtp.py, aiosmtpd) runs in its own process and waits --reply-ms
before every reply (greeting, EHLO, MAIL, RCPT, DATA…) on its event loop, so many sessions wait at once
and nothing is serialised: a session sending one message at a time needs several round trips per message.
Herald sends a campaign to --contacts synthetic contacts through the embedded sender (EmbeddedRunner, as
`herald serve` runs it: --threads sender threads, each with up to --smtp-concurrency sessions in flight)
and prints messages/s from "send" to the last row recorded (target: at least 1,000/s at 20 ms), with the
CPU per message of the sender process and of the fake. --smtp-concurrency 1 is one session per thread,
as before issue 14. The URL's pool= (sessions per process) is set to threads x concurrency.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

FAKE = r"""
import resource, sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.fake_smtp import FakeSmtp
fake = FakeSmtp(reply_delay_seconds=float(sys.argv[2])).start()
print(fake.port, flush=True)
sys.stdin.readline()
usage = resource.getrusage(resource.RUSAGE_SELF)
rcpts = [r for m in fake.messages for r in m.rcpt_tos]
print(len(rcpts), len(set(rcpts)), usage.ru_utime + usage.ru_stime, flush=True)
fake.stop()
"""


def database_url(db: str, workdir: Path) -> tuple[str, object, str | None]:
    if db == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", None, None
    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("HERALD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"herald_email_latency_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin_url.rsplit("/", 1)[0] + "/" + name, admin, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--reply-ms", type=float, default=20.0)
    parser.add_argument("--smtp-concurrency", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()

    from send_email import HTML, SUBJECT, TEXT, contacts_for
    from sqlalchemy import insert, text

    from audiences import Contact
    from campaigns import campaign_status, create_campaign, create_template, send_campaign
    from core.clock import SystemClock
    from core.config import load_config
    from core.db import Database
    from core.migrate import upgrade_database
    from scheduler import EmbeddedRunner

    fake = subprocess.Popen([sys.executable, "-c", FAKE, str(REPO), str(args.reply_ms / 1000)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(fake.stdout.readline())
    workdir = Path(tempfile.mkdtemp())
    url, admin, pg_name = database_url(args.db, workdir)
    try:
        upgrade_database(url)
        (workdir / "config.toml").write_text("")
        config = load_config(workdir / "config.toml", {
            "HERALD_DATABASE_URL": url, "HERALD_DATA_DIR": str(workdir), "HERALD_ENV": "test",
            "HERALD_CHANNELS_EMAIL_URL": f"smtp://127.0.0.1:{port}?from=bench@example.com&rate=100000/second"
                                         f"&pool={min(100, args.threads * args.smtp_concurrency)}",
            "HERALD_SENDER_BATCH_SIZE": "500", "HERALD_SENDER_POLL_SECONDS": "0.02",
            "HERALD_SCHEDULER_ENABLED": "false", "HERALD_SENDER_THREADS": str(args.threads),
            "HERALD_SENDER_SMTP_CONCURRENCY": str(args.smtp_concurrency)})
        database = Database(url)
        clock = SystemClock()
        now = clock.now()
        with database.session() as session:
            rows = [{"email": p["email"], "first_name": p["first_name"], "last_name": p["last_name"],
                     "attributes": {"tier": p["tier"]}, "created_at": now, "updated_at": now}
                    for p in contacts_for(args.contacts)]
            for start in range(0, len(rows), 5000):
                session.execute(insert(Contact), rows[start:start + 5000])
            session.commit()
            template = create_template(session, name="bench", channel="email", subject=SUBJECT, html=HTML,
                                       text=TEXT, now=now)
            campaign_id = create_campaign(session, name="bench", channel="email", template_id=template.id,
                                          now=now).id
        runner = EmbeddedRunner(config, database, run_scheduler=False)
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        with database.session() as session:
            send_campaign(session, campaign_id, now=clock.now(), channel_description="smtp", dry_run=False)
        runner.start()
        try:
            while True:
                with database.session() as session:
                    counts = campaign_status(session, campaign_id).counts
                if not counts.get("pending") and not counts.get("sending"):
                    break
                time.sleep(0.05)
        finally:
            elapsed = time.perf_counter() - started
            runner.stop()
        after = resource.getrusage(resource.RUSAGE_SELF)
        database.dispose()
        fake.stdin.write("done\n")
        fake.stdin.flush()
        received, distinct, fake_cpu = fake.stdout.readline().split()
        if counts.get("sent") != args.contacts or int(received) != args.contacts or int(distinct) != args.contacts:
            raise SystemExit(f"expected {args.contacts} sent once each; statuses {dict(counts)}, the fake received "
                             f"{received} for {distinct} addresses")
        sender_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        print(f"{args.contacts:,} emails, {args.reply_ms:g} ms per SMTP reply, {args.threads} sender thread(s) x "
              f"{args.smtp_concurrency} session(s) in flight, {args.db}")
        print(f"send -> all recorded: {elapsed:.1f} s = {args.contacts / elapsed:,.0f} messages/s "
              "(target: at least 1,000/s)")
        print(f"CPU per message: sender process {1000 * sender_cpu / args.contacts:.2f} ms, fake SMTP "
              f"{1000 * float(fake_cpu) / args.contacts:.2f} ms; this box has {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at the end")
    finally:
        if fake.poll() is None:
            fake.kill()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
