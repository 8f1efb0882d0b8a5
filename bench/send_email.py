"""Benchmark: Herald's email send rate against a raw smtplib loop, to the same fast SMTP sink.

    .venv/bin/python bench/send_email.py [--contacts 20000] [--db sqlite|postgres|both]

In one run it measures:
  1. the sink's own ceiling, with `smtp-source` (Postfix's C load generator) — the sink must be
     faster than both senders below or the ratio means nothing;
  2. raw: render the same Jinja template and send over ONE smtplib connection, in a Python loop;
  3. Herald: a campaign to N synthetic contacts through smtp:// — materialise the outbox, then the
     embedded sender threads claim, render, send and record every message.
It prints each rate and the ratio Herald/raw. Machines here are noisy: compare ratios, not rates.
The sink is Debian's `smtp-sink` from the postfix package; this script installs postfix
non-interactively if it is missing (and never starts the postfix daemon).
"""

from __future__ import annotations

import argparse
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SUBJECT = "{{ contact.first_name }}, your member offer"
HTML = ("<h1>Hello {{ contact.first_name }} {{ contact.last_name }}</h1><p>Your tier: {{ contact.tier }}.</p>"
        "<p><a href='https://example.com/offer'>Offer</a> · <a href='{{ unsubscribe_url }}'>Unsubscribe</a></p>")
TEXT = "Hello {{ contact.first_name }} {{ contact.last_name }}. Your tier: {{ contact.tier }}. {{ unsubscribe_url }}"


def ensure_postfix_tools() -> None:
    if shutil.which("smtp-sink") or Path("/usr/sbin/smtp-sink").exists():
        return
    print("smtp-sink not found: installing Debian's postfix package (daemon not started)...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run("echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections",
                   shell=True, check=True)
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:  # keeps apt from starting the postfix daemon
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "postfix"], check=True, env=env)
    finally:
        if created:
            policy.unlink()


def tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink() -> tuple[subprocess.Popen, int]:
    port = free_port()
    # -c counts, -4 IPv4; backlog 256. Output is discarded: we only need it to accept fast.
    # smtp-sink refuses to run as root without -u (the user it drops to); nobody exists everywhere.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([tool("smtp-sink"), *user, "-4", f"127.0.0.1:{port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("smtp-sink did not start")


def sink_ceiling(port: int, count: int) -> float:
    """Messages per second smtp-source pushes into the sink over one session at a time (like our senders)."""
    started = time.perf_counter()
    subprocess.run([tool("smtp-source"), "-4", "-s", "1", "-m", str(count), "-l", "1200", "-f", "bench@example.com",
                    "-t", "to@example.com", f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)
    return count / (time.perf_counter() - started)


def contacts_for(n: int) -> list[dict]:
    return [{"first_name": f"First{i}", "last_name": f"Last{i}", "email": f"user{i}@example.com",
             "tier": "ABC"[i % 3], "id": i} for i in range(n)]


def raw_rate(port: int, n: int) -> float:
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(autoescape=False)
    subject, html, text = env.from_string(SUBJECT), env.from_string(HTML), env.from_string(TEXT)
    people = contacts_for(n)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for person in people:
            ctx = {"contact": person, "unsubscribe_url": f"http://127.0.0.1/u/{person['id']}/sig"}
            msg = EmailMessage()
            msg["From"] = "bench@example.com"
            msg["To"] = person["email"]
            msg["Subject"] = subject.render(ctx)
            msg.set_content(text.render(ctx))
            msg.add_alternative(html.render(ctx), subtype="html")
            smtp.send_message(msg)
    return n / (time.perf_counter() - started)


def herald_rate(port: int, n: int, db: str, workdir: Path) -> tuple[float, float]:
    """Returns (messages/second for materialise+send, seconds spent materialising)."""
    from sqlalchemy import insert

    from audiences import Contact
    from campaigns import campaign_status, create_campaign, create_template, send_campaign
    from core.clock import SystemClock
    from core.config import load_config
    from core.db import Database
    from core.migrate import upgrade_database
    from scheduler import EmbeddedRunner

    pg_name = None
    if db == "postgres":
        from sqlalchemy import create_engine, text

        admin_url = os.environ.get("HERALD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        pg_name = f"herald_bench_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}"'))
            conn.execute(text(f'CREATE DATABASE "{pg_name}"'))
        url = admin_url.rsplit("/", 1)[0] + "/" + pg_name
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade_database(url)
    config_file = workdir / "config.toml"
    config_file.write_text("")
    config = load_config(config_file, {
        "HERALD_DATABASE_URL": url, "HERALD_DATA_DIR": str(workdir), "HERALD_ENV": "test",
        "HERALD_CHANNELS_EMAIL_URL": f"smtp://127.0.0.1:{port}?from=bench@example.com&rate=100000/second",
        "HERALD_SENDER_BATCH_SIZE": "500", "HERALD_SENDER_POLL_SECONDS": "0.02", "HERALD_SCHEDULER_ENABLED": "false",
    })
    database = Database(url)
    clock = SystemClock()
    now = clock.now()
    with database.session() as session:
        rows = [{"email": p["email"], "first_name": p["first_name"], "last_name": p["last_name"],
                 "attributes": {"tier": p["tier"]}, "created_at": now, "updated_at": now} for p in contacts_for(n)]
        for start in range(0, n, 5000):
            session.execute(insert(Contact), rows[start:start + 5000])
        session.commit()
        template = create_template(session, name="bench", channel="email", subject=SUBJECT, html=HTML, text=TEXT,
                                   now=now)
        campaign = create_campaign(session, name="bench", channel="email", template_id=template.id, now=now)
        campaign_id = campaign.id
    runner = EmbeddedRunner(config, database, run_scheduler=False)
    started = time.perf_counter()
    with database.session() as session:
        send_campaign(session, campaign_id, now=clock.now(), channel_description="smtp", dry_run=False)
    materialised = time.perf_counter() - started
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
    sent = counts.get("sent", 0)
    if sent != n:
        raise RuntimeError(f"Herald sent {sent} of {n}: {counts}")
    database.dispose()
    if pg_name:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    return n / elapsed, materialised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    ensure_postfix_tools()
    sink, port = start_sink()
    try:
        ceiling = sink_ceiling(port, args.contacts)
        raw = raw_rate(port, args.contacts)
        print(f"sink ceiling (smtp-source, 1 session): {ceiling:10.0f} msg/s")
        print(f"raw render+smtplib loop:               {raw:10.0f} msg/s")
        if ceiling < raw:
            print("WARNING: the sink is slower than the raw loop; the ratio below is bounded by the sink")
        for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            with tempfile.TemporaryDirectory() as tmp:
                rate, materialised = herald_rate(port, args.contacts, db, Path(tmp))
            print(f"herald ({db:8}), {args.contacts} contacts: {rate:10.0f} msg/s   ratio herald/raw = {rate / raw:.2f}"
                  f"   (materialise {materialised * 1000:.0f} ms)")
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
