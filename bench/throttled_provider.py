"""Benchmark (issue 12, item 2): how close Herald sends to a provider's rate limit, and how much it gets refused.

    .venv/bin/python bench/throttled_provider.py [--rates 1 8 100 1000] [--threads 4] [--seconds 20]

The provider is the fake Twilio (tests/fakes/fake_twilio.py) with `enforce_rate(R)`: a token bucket of R
tokens a second (bursts of max(2, R/10)) that answers 429 / 20429 above it, with Retry-After = the
seconds until its next token (`--no-retry-after`: a bare 429, as Twilio sends). It runs in a process of
its own, so it does not share Herald's interpreter lock. For each R, Herald sends
one SMS campaign through the real dispatch loop (campaigns.Dispatcher, the embedded senders' loop:
`--threads` sender threads, each with its own twilio:// channel, one shared RateLimiter) twice:
  at    the channel configured at the provider's rate (rate=R/second);
  above the channel configured at twice it (rate=2R/second): AIMD (campaigns/delivery/throttle.py) must find R.
Each run sends about `--seconds` × R messages (at least 20; R = 1 stays short) on a fresh PostgreSQL
database (HERALD_TEST_PG_URL or postgres@127.0.0.1:5432), and prints the sustained rate as a share of R
(messages accepted / time from the first send to the last) and the share of requests refused with 429.
Targets: >= 90 % of R, <= 2 % refused. It checks every message ended `sent`, each number once.
This machine is shared and small: at high R the figures say as much about the CPU as about Herald.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scratch_db import scratch_database  # noqa: E402 - the sibling bench module, found through the line above
from sqlalchemy import func, insert, select  # noqa: E402

from audiences import Contact  # noqa: E402
from campaigns import Dispatcher, Message  # noqa: E402
from campaigns.delivery.breaker import BreakerSettings  # noqa: E402
from channels import RateLimiter, open_channel  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.db import Database  # noqa: E402
from core.migrate import upgrade_database  # noqa: E402
from tests.campaigns.factories import start_campaign  # noqa: E402

# The provider's process: start the fake, say where it is, serve until stdin closes, then tell what it saw.
PROVIDER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from tests.fakes.fake_twilio import FakeTwilio
fake = FakeTwilio().start()
fake.enforce_rate(float(sys.argv[2]), retry_after=sys.argv[3] == "1")
print(fake.channel_url(), flush=True)
sys.stdin.read()
print(json.dumps({"statuses": [r["http_status"] for r in fake.requests], "accepted_at": fake.accepted_at,
                  "to": [m["to"] for m in fake.messages]}), flush=True)
"""

PG_URL = os.environ.get("HERALD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def one_run(rate: float, configured: float, n: int, threads: int, *, retry_after: bool) -> dict:
    """Send n messages to a provider allowing `rate`/s with the channel set at `configured`/s."""
    provider = subprocess.Popen([sys.executable, "-c", PROVIDER, str(REPO), str(rate), "1" if retry_after else "0"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    provider_url = provider.stdout.readline().strip()
    with scratch_database(PG_URL, "throttle", keep=False) as url:
        upgrade_database(url)
        database = Database(url)
        now = SystemClock().now()
        with database.session() as session:
            session.execute(insert(Contact), [{"phone": f"+1201{i:07d}", "first_name": "Ann", "last_name": "Lee",
                                               "attributes": {}, "created_at": now, "updated_at": now}
                                              for i in range(n)])
            session.commit()
            _, run = start_campaign(session, now=now, guarantee="at_least_once")
            run_id = run.id
        limiter = RateLimiter("memory://")
        stop = threading.Event()
        errors: list[BaseException] = []

        def sender() -> None:
            channel = open_channel(f"{provider_url}&rate={configured:g}/second")
            dispatcher = Dispatcher(database, {"sms": channel}, limiter, SystemClock(),
                                    base_url="https://herald.example.com", secret_key="bench", batch_size=100,
                                    lease_seconds=300, price={"sms": Decimal("0.0079")},
                                    breaker=BreakerSettings(failures=1_000_000, cooldown_seconds=60))
            try:
                while not stop.is_set():
                    if not dispatcher.dispatch_due():
                        time.sleep(0.02)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                channel.close()

        def settled() -> int:
            with database.session() as session:
                return session.scalar(select(func.count()).select_from(Message).where(
                    Message.run_id == run_id, Message.status.in_(["sent", "failed", "unknown"]))) or 0

        workers = [threading.Thread(target=sender, daemon=True) for _ in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        deadline = started + 10 * n / rate + 60
        while settled() < n and time.perf_counter() < deadline and not errors:
            time.sleep(0.2)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        seen = json.loads(provider.communicate("")[0])
        accepted_at = seen["accepted_at"]
        with database.session() as session:
            statuses = Counter(dict(session.execute(select(Message.status, func.count()).where(
                Message.run_id == run_id).group_by(Message.status)).tuples().all()))
        database.dispose()
    span = (accepted_at[-1] - accepted_at[0]) if len(accepted_at) > 1 else float("nan")
    sustained = (len(accepted_at) - 1) / span if len(accepted_at) > 1 else 0.0
    refused = sum(1 for status in seen["statuses"] if status == 429)
    requests = len(seen["statuses"])
    per_number = Counter(seen["to"])
    return {"sustained": sustained, "share": sustained / rate, "refused": refused, "requests": requests,
            "refused_share": refused / max(1, requests), "statuses": dict(statuses), "errors": errors,
            "twice": sum(1 for c in per_number.values() if c > 1), "span": span}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=float, nargs="+", default=[1, 8, 100, 1000])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--messages", type=int, help="per run, instead of --seconds x R")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--no-retry-after", action="store_true")
    parser.add_argument("--only", choices=["at", "above"])
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # one line per throttle answer would drown the table
    print(f"provider: fake Twilio, token bucket, Retry-After {'off' if args.no_retry_after else 'on'}; "
          f"Herald: {args.threads} sender threads, PostgreSQL")
    print(f"{'R/s':>6} {'Herald set at':>14} {'messages':>8} {'sustained/s':>11} {'% of R':>7} "
          f"{'requests':>8} {'429s':>5} {'% refused':>9}  result")
    for rate in args.rates:
        n = args.messages or max(20, int(rate * args.seconds))
        for label, configured in (("at", rate), ("above", 2 * rate)):
            if args.only and label != args.only:
                continue
            r = one_run(rate, configured, n, args.threads, retry_after=not args.no_retry_after)
            ok = r["statuses"] == {"sent": n} and not r["twice"] and not r["errors"]
            verdict = "ok" if ok else f"NOT ALL SENT ONCE {r['statuses']} twice={r['twice']} {r['errors'][:1]}"
            print(f"{rate:>6g} {f'{configured:g}/s ({label})':>14} {n:>8} {r['sustained']:>11.2f} "
                  f"{100 * r['share']:>6.1f}% {r['requests']:>8} {r['refused']:>5} {100 * r['refused_share']:>8.2f}%  "
                  f"{verdict}", flush=True)


if __name__ == "__main__":
    main()
