"""Benchmark (issue 4, "Send throughput"): Herald's email rate with 1 and 2 worker processes vs a naive loop.

    .venv/bin/python bench/send_throughput.py [--contacts 20000] [--workers 1 2] [--batch-size 500]

Everything goes to the C `smtp-sink` on loopback, rate unlimited, on PostgreSQL (HERALD_TEST_PG_URL or
postgres@127.0.0.1:5432). In one run it measures:
  1. raw: the naive loop of bench/send_email.py — Jinja render + stdlib `email` MIME build + ONE smtplib
     connection, single process — before and after the Herald runs; the ratio uses their mean;
  2. Herald with N worker processes (separate OS processes, each running campaigns.delivery.sender.send_until_idle,
     the loop `herald campaigns send --wait` and the embedded senders use), for each N in --workers: a fresh
     database with N contacts and one campaign; the outbox is materialised, then every worker is told to
     go at once; the rate is messages / (go -> last worker done). Worker start-up (imports, connecting)
     happens before "go" and is not counted, as a long-running worker pays it once, not per campaign.
     Materialising is timed separately (it is its own benchmark in issue 4).
It prints each rate, the ratio to raw (targets: >= 1.0 with one process, >= 1.6 with two), each
worker's peak RSS (ru_maxrss, reported by the worker itself) and how busy each worker's CPU was.
Afterwards it checks every message is `sent` and was handled once.
Machines here are noisy: compare ratios from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from send_email import (  # noqa: E402 - the sibling bench script, found through the line above
    HTML,
    REPO,
    SUBJECT,
    TEXT,
    contacts_for,
    ensure_postfix_tools,
    raw_rate,
    sink_ceiling,
    start_sink,
    tool,
)

# Runs in each worker process: start up, say "ready", wait for "go", send until nothing is due, report.
WORKER = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from campaigns.delivery.sender import send_until_idle
from core.clock import SystemClock
from core.config import load_config
from core.db import Database
settings = json.loads(sys.argv[2])
config = load_config(settings.pop("config_file"), settings)
database = Database(str(config.database_url))
with database.engine.connect():
    pass  # open the pool's first connection before the clock starts
print("ready", flush=True)
sys.stdin.readline()
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
started, cpu_before = time.perf_counter(), cpu()
sent = send_until_idle(config, database, SystemClock())
seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_before
database.dispose()
print(json.dumps({"handled": sent, "seconds": seconds, "cpu_seconds": cpu_seconds,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
"""


def sink_ceiling_sessions(port: int, count: int, sessions: int) -> float:
    """What smtp-source (C) pushes into the sink over `sessions` parallel sessions: the most N workers could get."""
    started = time.perf_counter()
    subprocess.run([tool("smtp-source"), "-4", "-s", str(sessions), "-m", str(count), "-l", "1200", "-f",
                    "bench@example.com", "-t", "to@example.com", f"127.0.0.1:{port}"], check=True,
                   stdout=subprocess.DEVNULL)
    return count / (time.perf_counter() - started)


def create_database() -> tuple[str, object]:
    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("HERALD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"herald_throughput_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin_url.rsplit("/", 1)[0] + "/" + name, admin


def drop_database(url: str, admin) -> None:
    from sqlalchemy import text

    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))


def prepare_campaign(url: str, n: int) -> int:
    """A fresh schema, n contacts and a draft email campaign to all of them; returns the campaign id."""
    from sqlalchemy import insert

    from audiences import Contact
    from campaigns import create_campaign, create_template
    from core.clock import SystemClock
    from core.db import Database
    from core.migrate import upgrade_database

    upgrade_database(url)
    database = Database(url)
    now = SystemClock().now()
    with database.session() as session:
        rows = [{"email": p["email"], "first_name": p["first_name"], "last_name": p["last_name"],
                 "attributes": {"tier": p["tier"]}, "created_at": now, "updated_at": now} for p in contacts_for(n)]
        for start in range(0, n, 5000):
            session.execute(insert(Contact), rows[start:start + 5000])
        session.commit()
        template = create_template(session, name="bench", channel="email", subject=SUBJECT, html=HTML, text=TEXT,
                                   now=now)
        campaign_id = create_campaign(session, name="bench", channel="email", template_id=template.id, now=now).id
    database.dispose()
    return campaign_id


def herald_rate(port: int, n: int, workers: int, batch_size: int, workdir: Path) -> dict:
    """Send one n-recipient campaign with `workers` processes; returns rate, materialise time and workers' reports."""
    from campaigns import campaign_status, send_campaign
    from core.clock import SystemClock
    from core.db import Database

    url, admin = create_database()
    try:
        campaign_id = prepare_campaign(url, n)
        config_file = workdir / "config.toml"
        config_file.write_text("")
        settings = {
            "config_file": str(config_file), "HERALD_DATABASE_URL": url, "HERALD_DATA_DIR": str(workdir),
            "HERALD_ENV": "test", "HERALD_SCHEDULER_ENABLED": "false", "HERALD_SENDER_BATCH_SIZE": str(batch_size),
            "HERALD_CHANNELS_EMAIL_URL": f"smtp://127.0.0.1:{port}?from=bench@example.com&rate=1000000/second",
        }
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(REPO), json.dumps(settings)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
        try:
            for proc in procs:
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError("a worker did not start; run it by hand to see why")
            database = Database(url)
            started = time.perf_counter()
            with database.session() as session:
                send_campaign(session, campaign_id, now=SystemClock().now(), channel_description="smtp",
                              dry_run=False)
            materialised = time.perf_counter() - started
            started = time.perf_counter()
            for proc in procs:
                proc.stdin.write("go\n")
                proc.stdin.flush()
            reports = [json.loads(proc.stdout.readline()) for proc in procs]
            elapsed = time.perf_counter() - started
            for proc in procs:
                proc.wait(30)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
        with database.session() as session:
            counts = campaign_status(session, campaign_id).counts
        database.dispose()
        handled = sum(r["handled"] for r in reports)
        if counts.get("sent") != n or handled != n:
            raise RuntimeError(f"expected {n} sent, each handled once; statuses {counts}, workers handled {handled}")
        return {"rate": n / elapsed, "materialised": materialised, "reports": reports}
    finally:
        drop_database(url, admin)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    ensure_postfix_tools()
    sink, port = start_sink()
    try:
        ceilings = {n: sink_ceiling(port, args.contacts) if n == 1 else sink_ceiling_sessions(port, args.contacts, n)
                    for n in sorted({1, *args.workers})}
        for sessions, ceiling in ceilings.items():
            print(f"sink ceiling (smtp-source, {sessions} session(s)): {ceiling:6.0f} msg/s", flush=True)
        raw_before = raw_rate(port, args.contacts)
        print(f"raw loop (render + email + smtplib):     {raw_before:8.0f} msg/s", flush=True)
        results = {}
        for workers in args.workers:
            with tempfile.TemporaryDirectory() as tmp:
                results[workers] = herald_rate(port, args.contacts, workers, args.batch_size, Path(tmp))
            print(f"herald, {workers} worker process(es):       {results[workers]['rate']:8.0f} msg/s", flush=True)
        raw_after = raw_rate(port, args.contacts)
        raw = (raw_before + raw_after) / 2
        print(f"raw loop again:                          {raw_after:8.0f} msg/s   (mean {raw:.0f})")
        print(f"\n{args.contacts} emails, PostgreSQL, smtp-sink, batch size {args.batch_size}:")
        for workers, result in results.items():
            target = 1.0 if workers == 1 else 1.6 if workers == 2 else None
            met = target is not None and result["rate"] / raw >= target
            verdict = "" if target is None else f"  (target >= {target}: {'met' if met else 'NOT met'})"
            rss = ", ".join(f"{r['max_rss_mb']:.0f} MB" for r in result["reports"])
            # A worker busy well under 100% of its wall time was waiting: on the database, the sink, or
            # for a core (this box has 2, shared with PostgreSQL, the sink and anything else running).
            busy = ", ".join(f"{r['cpu_seconds'] / r['seconds']:.0%}" for r in result["reports"])
            print(f"  {workers} worker(s): {result['rate']:6.0f} msg/s  ratio {result['rate'] / raw:.2f}{verdict}"
                  f"  peak RSS per worker: {rss}  CPU busy per worker: {busy}"
                  f"  (materialise {result['materialised'] * 1000:.0f} ms)")
        for workers, result in results.items():
            if result["rate"] > 0.8 * ceilings[workers]:
                print(f"NOTE: with {workers} worker(s) Herald reached {result['rate'] / ceilings[workers]:.0%} of what "
                      f"smtp-source pushes through {workers} session(s): that figure is bounded by the sink")
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
