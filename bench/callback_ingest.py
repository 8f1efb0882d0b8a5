"""Benchmark (issue 5, "Status-callback ingestion"): Twilio status callbacks per second into Herald on gunicorn.

    .venv/bin/python bench/callback_ingest.py [--callbacks 3000] [--rounds 3] [--workers 3]
                                              [--worker-class gthread|sync] [--worker-threads 4] [--threads 16]

On PostgreSQL (HERALD_TEST_PG_URL or postgres@127.0.0.1:5432), in one run:
  1. a fresh database, migrated, with enough SMS messages already accepted by Twilio (status sent, a
     provider id each) for every run to touch its own, made with INSERT … SELECT;
  2. a ceiling: a hand-written WSGI app (no Flask, no ORM) that checks the same X-Twilio-Signature and
     runs the same one UPDATE + one INSERT per callback with psycopg, under the same gunicorn settings;
  3. Herald: `gunicorn web.wsgi:app` (scaled mode, its own config from the environment), POST
     /webhooks/twilio/status/<message id>, signature checking on.
Both run as the README's scaled mode deploys the web: `gunicorn --workers 3 --worker-class gthread --threads 4`.
The driver is a second process on loopback: `--threads` threads, each with its own keep-alive HTTP
connection, posting callbacks signed beforehand (signing is Twilio's cost, not Herald's): each message
gets "delivered" with Price and NumSegments. Ceiling and Herald alternate for `--rounds` rounds, so the
noise of a shared machine hits both alike; it reports each run and the median callbacks/s, p50 and p99
latency of each, and Herald's ratio to the ceiling. Target: >= 1,000 callbacks/s with p99 reported.
It also reports the CPU the gunicorn workers spent per callback (from /proc), which the load of a
shared machine does not inflate as much as wall time: 2 cores / that figure bounds the rate an idle
box could reach before PostgreSQL's own share. Afterwards it checks that every message is
`delivered`, with its cost, and has its event. Machines here are noisy: compare figures from the
same run.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("HERALD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"

# The ceiling: what the same work costs with nothing but psycopg and the SDK's validator.
CEILING_APP = r'''
import os, threading
from urllib.parse import parse_qsl
import psycopg
from twilio.request_validator import RequestValidator

BASE = os.environ["BENCH_BASE_URL"]
VALIDATOR = RequestValidator(os.environ["BENCH_AUTH_TOKEN"])
_local = threading.local()  # one connection per thread: gthread workers must not share a transaction

def conn():
    if getattr(_local, "conn", None) is None:
        _local.conn = psycopg.connect(os.environ["BENCH_PG_DSN"], autocommit=False)
    return _local.conn

def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
    form = dict(parse_qsl(body, keep_blank_values=True))
    path = environ["PATH_INFO"]
    if not VALIDATOR.validate(BASE + path, form, environ.get("HTTP_X_TWILIO_SIGNATURE", "")):
        start_response("403 Forbidden", [("Content-Length", "0")])
        return [b""]
    message_id = int(path.rsplit("/", 1)[1])
    c = conn()
    with c.cursor() as cur:
        cur.execute("UPDATE messages SET status = 'delivered', delivered_at = now(), cost = %s, segments = %s "
                    "WHERE id = %s AND status IN ('pending', 'sending', 'sent', 'unknown')",
                    (form.get("Price", "0").lstrip("-"), form.get("NumSegments"), message_id))
        cur.execute("INSERT INTO message_events (message_id, type, occurred_at, detail) "
                    "VALUES (%s, 'delivered', now(), %s)", (message_id, '{"provider_status": "delivered"}'))
    c.commit()
    start_response("204 No Content", [])
    return [b""]
'''

# The driver, run as its own process: threads with keep-alive connections post the signed callbacks.
DRIVER = r'''
import http.client, json, sys, threading, time
spec = json.loads(sys.stdin.read())
port, requests, threads = spec["port"], spec["requests"], spec["threads"]
latencies = [[] for _ in range(threads)]
codes = [{} for _ in range(threads)]
start = threading.Barrier(threads + 1)

def run(n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine, lat, seen = requests[n::threads], latencies[n], codes[n]
    start.wait()
    for path, body, signature in mine:
        t0 = time.perf_counter()
        for attempt in range(3):
            try:
                conn.request("POST", path, body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
                response = conn.getresponse()
                response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                conn.close()  # a sync worker closes after each answer: reconnect
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        lat.append(time.perf_counter() - t0)
        seen[response.status] = seen.get(response.status, 0) + 1
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
for w in workers:
    w.start()
start.wait()
t0 = time.perf_counter()
for w in workers:
    w.join()
seconds = time.perf_counter() - t0
all_lat = sorted(x for lat in latencies for x in lat)
merged = {}
for seen in codes:
    for k, v in seen.items():
        merged[str(k)] = merged.get(str(k), 0) + v
pick = lambda q: all_lat[min(len(all_lat) - 1, int(q * len(all_lat)))] * 1000
print(json.dumps({"seconds": seconds, "count": len(all_lat), "rate": len(all_lat) / seconds,
                  "p50_ms": pick(0.50), "p99_ms": pick(0.99), "codes": merged}))
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_database(messages: int) -> tuple[str, str]:
    """A fresh migrated database with `messages` sent SMS messages; returns (name, SQLAlchemy URL)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from core.migrate import upgrade_database

    name = f"herald_bench_cb_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO contacts (id, phone, first_name, last_name, company, attributes, created_at, "
                          "updated_at) SELECT n, '+1201' || lpad(n::text, 7, '0'), 'C', '', '', '{}', now(), now() "
                          "FROM generate_series(1, :n) AS n"), {"n": messages})
        conn.execute(text("INSERT INTO templates (id, name, channel, subject, html, text, body, created_at, "
                          "updated_at) VALUES (1, 'T', 'sms', '', '', '', 'Hi', now(), now())"))
        campaign_columns = [r[0] for r in conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'campaigns' "
            "AND is_nullable = 'NO' AND column_default IS NULL"))]
        values = {"id": "1", "name": "'Bench'", "kind": "'broadcast'", "channel": "'sms'", "template_id": "1",
                  "status": "'running'", "guarantee": "'at_most_once'", "created_at": "now()",
                  "updated_at": "now()"}
        defaults = {"operational": "false", "ab_test_percent": "0", "holdout_percent": "0"}
        cols = [c for c in campaign_columns if c in values or c in defaults]
        conn.execute(text(f"INSERT INTO campaigns ({', '.join(cols)}) VALUES "
                          f"({', '.join(values.get(c) or defaults[c] for c in cols)})"))
        conn.execute(text("INSERT INTO runs (id, campaign_id, occasion_key, status, channel_url, dry_run, started_at) "
                          "VALUES (1, 1, 'once', 'running', 'twilio://bench', false, now())"))
        conn.execute(text("INSERT INTO messages (run_id, campaign_id, contact_id, channel, address, status, priority, "
                          "not_before, attempts, provider_id, segments, cost, currency, sent_at, updated_at) "
                          "SELECT 1, 1, n, 'sms', '+1201' || lpad(n::text, 7, '0'), 'sent', 100, now(), 1, "
                          "'SM' || md5(n::text), 1, 0.0079, 'USD', now(), now() FROM generate_series(1, :n) AS n"),
                     {"n": messages})
    engine.dispose()
    return name, url


def drop_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def signed_requests(url: str, base_url: str, count: int, *, offset: int) -> list[tuple[str, str, str]]:
    """(path, form body, signature) for `count` messages from id offset+1: "delivered" with a price."""
    from urllib.parse import urlencode

    from sqlalchemy import create_engine, text
    from twilio.request_validator import RequestValidator

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, provider_id, address FROM messages ORDER BY id LIMIT :n OFFSET :o"),
                            {"n": count, "o": offset}).all()
    engine.dispose()
    validator = RequestValidator(AUTH_TOKEN)
    made = []
    for message_id, sid, to in rows:
        path = f"/webhooks/twilio/status/{message_id}"
        form = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": "+15005550006", "To": to,
                "MessageStatus": "delivered", "SmsStatus": "delivered", "ApiVersion": "2010-04-01",
                "Price": "-0.00790", "PriceUnit": "USD", "NumSegments": "1"}
        made.append((path, urlencode(form), validator.compute_signature(base_url + path, form)))
    return made


def start_gunicorn(app: str, port: int, env: dict[str, str], args: argparse.Namespace) -> subprocess.Popen:
    command = [str(REPO / ".venv/bin/gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
               "--worker-class", args.worker_class, "--log-level", "warning", app]
    if args.worker_class == "gthread":
        command[1:1] = ["--threads", str(args.worker_threads)]
    process = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(1.0)  # let every worker finish importing
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn {app} did not listen on {port}")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def server_cpu_seconds(master: int) -> float:
    """CPU time (user + system) of the gunicorn master's worker processes so far, from /proc."""
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children")
    for pid in children.read_text().split() if children.exists() else []:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def drive(port: int, requests: list[tuple[str, str, str]], threads: int) -> dict:
    out = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(
        {"port": port, "requests": requests, "threads": threads}), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def check(url: str, count: int) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        delivered = conn.execute(text("SELECT count(*) FROM messages WHERE status = 'delivered' AND cost = 0.0079 "
                                      "AND id <= :n"), {"n": count}).scalar()
        events = conn.execute(text("SELECT count(DISTINCT message_id) FROM message_events WHERE type = 'delivered' "
                                   "AND message_id <= :n"), {"n": count}).scalar()
    engine.dispose()
    return {"delivered": delivered, "with_event": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=3000, help="callbacks per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="ceiling/Herald pairs, alternating")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--worker-threads", type=int, default=4, help="threads per worker with gthread")
    parser.add_argument("--threads", type=int, default=16, help="driver threads (connections)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from sqlalchemy.engine import make_url

    warmup = 200
    per_run = args.callbacks + warmup
    runs = [(label, app) for _ in range(args.rounds) for label, app in (("ceiling", "ceiling:app"),
                                                                         ("herald", "web.wsgi:app"))]
    name, url = make_database(per_run * len(runs))
    results: dict[str, list[dict]] = {"ceiling": [], "herald": []}
    try:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        pg = make_url(url)
        dsn = f"host={pg.host} port={pg.port or 5432} user={pg.username} dbname={pg.database}"
        with tempfile.TemporaryDirectory() as tmp:
            config_file = Path(tmp) / "config.toml"
            config_file.write_text("# bench: everything from the environment\n")
            (Path(tmp) / "ceiling.py").write_text(CEILING_APP)
            env = dict(os.environ, PYTHONPATH=f"{tmp}:{REPO}", HERALD_CONFIG=str(config_file), HERALD_ENV="test",
                       HERALD_DATABASE_URL=url, HERALD_DATA_DIR=str(Path(tmp) / "var"), HERALD_BASE_URL=base_url,
                       HERALD_SENDER_MODE="celery", HERALD_SCHEDULER_ENABLED="false",
                       HERALD_CHANNELS_SMS_URL=f"twilio://{ACCOUNT_SID}:{AUTH_TOKEN}@default?from=%2B15005550006",
                       BENCH_BASE_URL=base_url, BENCH_AUTH_TOKEN=AUTH_TOKEN, BENCH_PG_DSN=dsn)
            for n, (label, app) in enumerate(runs):
                requests = signed_requests(url, base_url, per_run, offset=n * per_run)
                server = start_gunicorn(app, port, env, args)
                try:
                    drive(port, requests[:warmup], args.threads)  # connections, caches, prepared statements
                    cpu_before = server_cpu_seconds(server.pid)
                    result = drive(port, requests[warmup:], args.threads)
                    result["cpu_ms"] = (server_cpu_seconds(server.pid) - cpu_before) * 1000 / result["count"]
                finally:
                    stop(server)
                results[label].append(result)
                print(f"  round {n // 2 + 1} {label:8s} {result['rate']:8.0f} callbacks/s   "
                      f"p50 {result['p50_ms']:6.1f} ms   p99 {result['p99_ms']:6.1f} ms   "
                      f"server CPU {result['cpu_ms']:.2f} ms/callback   HTTP {result['codes']}", flush=True)
        verified = check(url, per_run * len(runs))
    finally:
        drop_database(name)

    def median(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    print(f"gunicorn: {args.workers} {args.worker_class} workers; driver: {args.threads} keep-alive connections; "
          f"{args.callbacks} signed callbacks per run, {args.rounds} rounds; {os.cpu_count()} CPUs; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    for label in ("ceiling", "herald"):
        print(f"  {label:8s} median {median(label, 'rate'):8.0f} callbacks/s   p50 {median(label, 'p50_ms'):6.1f} ms"
              f"   p99 {median(label, 'p99_ms'):6.1f} ms   server CPU {median(label, 'cpu_ms'):.2f} ms/callback")
    rate = median("herald", "rate")
    print(f"  Herald / ceiling: {rate / median('ceiling', 'rate'):.2f}   target >= 1,000/s: "
          f"{'met' if rate >= 1000 else 'NOT met'}")
    print(f"  check: {verified['delivered']} delivered with the price, {verified['with_event']} with their event "
          f"(of {per_run * len(runs)})")


if __name__ == "__main__":
    main()
