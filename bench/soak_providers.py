"""The soak benchmark's providers (bench/soak.py): the fake Twilio or the fake SMTP server in a process of
its own, allowing a rate and injecting faults at random, as real providers do on a bad day.

    python bench/soak_providers.py twilio PLAN.json OUT.json
    python bench/soak_providers.py smtp PLAN.json OUT.json

PLAN.json (written by bench/soak.py): {"seed", "rate" (requests a second allowed), "faults" (a multiplier
of the fault frequencies below, 0 = none), "timeout" (Herald's client timeout, seconds), and for twilio
"invalid" (numbers refused with 21211), for smtp "refuse" (addresses refused 550 5.1.1) and "script"
(per-address fault steps, tests/fakes/fake_smtp.py)}.

It prints the channel URL (without rate=) on its first line and serves. A "calm" line on stdin stops new
faults (the allowed rate stays: a provider does not stop throttling); the end of stdin writes what it saw
to OUT.json and exits.

Faults, each drawn every TICK seconds with the probability below × `faults`, meet the requests of that tick
(one no request met is dropped, so a Herald holding off, its breaker open, is not met by faults saved up):
- twilio: a burst of 500/503 answers; a burst of 429 with or without Retry-After; a hang past the client's
  timeout answered 503 (nothing kept); an answer lost after the message was kept ("late" past the timeout
  or a dropped socket); a connection dropped before anything was kept. Above the rate: 429 / 20429 with
  Retry-After (the fake's token bucket).
- smtp: per-address scripts (421 at RCPT closing the session, 450, drop at RCPT, drop after DATA,
  late answer after DATA, 451 at the end of DATA); slow answers to DATA for a few seconds; every open
  session dropped at once. Above the rate: 454 4.7.0 Throttling failure at RCPT, as Amazon SES says it.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.fake_smtp import FakeSmtp  # noqa: E402 - the repository root is on the path from the line above
from tests.fakes.fake_twilio import (  # noqa: E402
    _DATE_FILTERS,
    FAULTS,
    FakeTwilio,
    _date_matches,
    _TokenBucket,
    twilio_error,
)

TICK = 0.25  # seconds between draws
TWILIO_FAULTS = {  # per tick: about one every 1 / (p / TICK) seconds with faults=1
    "5xx_burst": 0.004,
    "429_burst": 0.01,
    "hang": 0.008,
    "lost_answer": 0.03,
    "dropped_connection": 0.008,
}
SMTP_FAULTS = {"slow_answers": 0.01, "sessions_dropped": 0.005}
Seen = Callable[[], dict]  # what the provider saw, as JSON, when the run is over
THROTTLED = (454, "4.7.0 Throttling failure: Maximum sending rate exceeded")


class ChaosTwilio(FakeTwilio):
    """The fake Twilio with hangs that keep nothing, and a list by To that stays fast at 25,000 messages."""

    def __init__(self, *, hang_seconds: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hang_seconds = hang_seconds
        self._hangs = 0
        self._by_to: dict[str, list[str]] = {}

    def hang_next(self, n: int) -> None:
        with self._lock:
            self._hangs += n

    def _create(self, account, form, idempotency_key=None):
        with self._lock:
            hang, self._hangs = self._hangs > 0, max(0, self._hangs - 1)
        if hang:  # the client gives up first; a gateway timeout, nothing kept
            time.sleep(self.hang_seconds)
            with self._lock:
                self._requests.append({"To": form.get("To"), "IdempotencyKey": idempotency_key, "sid": None,
                                       "http_status": 503})
            return 503, twilio_error(*FAULTS[503], 503), {}
        status, payload, headers = super()._create(account, form, idempotency_key)
        if status == 201:
            with self._lock:
                self._by_to.setdefault(payload["to"], []).append(payload["sid"])
        return status, payload, headers

    def _list(self, query):
        if "To" not in query:
            return super()._list(query)
        with self._lock:  # the reconciler asks by To; scanning every message per question would take minutes
            theirs = [dict(self._messages[sid]) for sid in self._by_to.get(query["To"], [])]
        return [{k: v for k, v in m.items() if not k.startswith("_")} for m in theirs if _listed(m, query)]


def _listed(message: dict, query: dict) -> bool:
    """The fake's own list filters (From, DateSent…) for one message."""
    if "From" in query and message["from"] != query["From"]:
        return False
    sent = parsedate_to_datetime(message["date_sent"])
    return all(_date_matches(op, query[key], sent) for key, op in _DATE_FILTERS.items() if key in query)


class ChaosSmtp(FakeSmtp):
    """The fake SMTP server allowing `rate` messages a second: above it, 454 Throttling failure at RCPT."""

    def __init__(self, *, rate: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bucket = _TokenBucket(rate, max(2.0, rate / 10), retry_after=False)
        self.throttled = 0

    def _next_step(self, address):
        step = super()._next_step(address)
        if step is not None or address in self.refuse:
            return step
        with self._lock:
            refused = self.bucket.take() is not None
            self.throttled += refused
        return THROTTLED if refused else None


def take_pending(fake: ChaosTwilio) -> Counter:
    """Remove the faults no request has met yet; how many of each kind."""
    with fake._lock:
        statuses = Counter(status for status, _ in fake._faults)
        left = Counter({"429": statuses[429], "5xx": statuses[500] + statuses[503], "lost_answer": len(fake._losses),
                        "hang": fake._hangs, "dropped_connection": fake._drops})
        fake._faults.clear()
        fake._losses.clear()
        fake._hangs = fake._drops = 0
    return left


def run_twilio(plan: dict, rng: random.Random, calm: threading.Event, injected: Counter) -> tuple[str, Seen]:
    fake = ChaosTwilio(invalid_numbers=plan["invalid"], hang_seconds=plan["timeout"] + 1.5,
                       lose_seconds=plan["timeout"] + 1.5).start()
    fake.enforce_rate(plan["rate"])

    def inject() -> None:
        odds = {name: p * plan["faults"] for name, p in TWILIO_FAULTS.items()}
        while not calm.wait(TICK):
            # A fault is a moment of the provider's, not a debt: what no request met within its tick is
            # dropped, or while Herald holds off (its breaker open) every probe would meet a fault saved up.
            expired.update(take_pending(fake))
            drawn = {name for name, p in odds.items() if rng.random() < p}
            if "5xx_burst" in drawn:
                n = rng.randint(2, 8)
                fake.fail_next(n, rng.choice([500, 503]))
                injected["5xx"] += n
            elif "429_burst" in drawn:
                n = rng.randint(1, 6)
                fake.fail_next(n, 429, retry_after=rng.choice([None, 0.5, 1.0, 2.0]))
                injected["429"] += n
            if "hang" in drawn:
                fake.hang_next(1)
                injected["hang"] += 1
            if "lost_answer" in drawn:
                fake.lose_answers(1, rng.choice(["late", "drop"]))
                injected["lost_answer"] += 1
            if "dropped_connection" in drawn:
                fake.drop_connections(1)
                injected["dropped_connection"] += 1

    def seen() -> dict:
        statuses = Counter(r["http_status"] for r in fake.requests)
        expired.update(take_pending(fake))  # what no request met was not a fault
        return {"requests": [[r["To"], r["IdempotencyKey"], r["sid"], r["http_status"]] for r in fake.requests],
                "accepted_at": fake.accepted_at, "statuses": statuses, "unused": expired}

    expired: Counter = Counter()

    threading.Thread(target=inject, daemon=True).start()
    return fake.channel_url(timeout=f"{plan['timeout']:g}"), seen


def run_smtp(plan: dict, rng: random.Random, calm: threading.Event, injected: Counter) -> tuple[str, Seen]:
    script = {address: [tuple(step) if isinstance(step, list) else step for step in steps]
              for address, steps in plan["script"].items()}
    fake = ChaosSmtp(rate=plan["rate"], refuse={a: (550, "5.1.1 No such user here") for a in plan["refuse"]},
                     script=script, lose_seconds=plan["timeout"] + 1.5).start()
    injected["scripted_steps"] = sum(len(steps) for steps in script.values())

    def inject() -> None:
        odds = {name: p * plan["faults"] for name, p in SMTP_FAULTS.items()}
        while not calm.wait(TICK):
            if rng.random() < odds["slow_answers"]:  # slower than usual, within the client's timeout
                fake.delay_seconds = rng.uniform(0.2, plan["timeout"] / 2)
                injected["slow_answers"] += 1
                calm.wait(rng.uniform(1, 4))
                fake.delay_seconds = 0.0
            if rng.random() < odds["sessions_dropped"]:
                fake.disconnect_clients()
                injected["sessions_dropped"] += 1

    def seen() -> dict:
        with fake._lock:
            kept = [[m.rcpt_tos, str(m.message["Message-ID"]), m.received_at] for m in fake.messages]
            unused = sum(len(steps) for steps in fake.script.values())
        return {"messages": kept, "throttled": fake.throttled, "unused": {"scripted_steps": unused}}

    threading.Thread(target=inject, daemon=True).start()
    return f"{fake.url}?from=news@shop.example.com&timeout={plan['timeout']:g}", seen


def main() -> None:
    which, plan_file, out_file = sys.argv[1:4]
    plan = json.loads(Path(plan_file).read_text())
    rng = random.Random(plan["seed"])
    calm = threading.Event()
    injected: Counter = Counter()
    url, seen = (run_twilio if which == "twilio" else run_smtp)(plan, rng, calm, injected)
    print(url, flush=True)
    for line in sys.stdin:
        if line.strip() == "calm":
            calm.set()
    calm.set()
    Path(out_file).write_text(json.dumps({**seen(), "injected": injected}))


if __name__ == "__main__":
    main()
