"""The report reconciles with the rows, whatever order the provider answers in (issue 10, "The invariant").

Hypothesis draws a small campaign — contacts with their own, shared, missing, invalid or provider-opted-out
numbers; unsubscribed or suppression-listed contacts; contacts already messaged today (a frequency cap of 1);
a holdout; tiers and regions; fixed costs in two currencies — and a provider's habits: status callbacks
posted before the send is recorded or after it, repeated, in any order, with or without a price; transient
faults (a dropped connection, 503, 429); a sender that dies after the provider took its batch. It drives
that through the real dispatch loop (campaigns.delivery.sender.make_dispatcher, the Dispatcher the embedded sender
threads and the Celery task call) until nothing is left to do, then checks every figure of the report
(campaign_report, which the page, the API and the CSV/XLSX exports all read) against the same figure
counted here by plain SQL over the rows.

Why the real Twilio channel against tests/fakes/fake_twilio.py and not the log channel: the order that
breaks numbers is a signed status callback reaching Herald's real webhook (web/status_callbacks.py, over
HTTP) before the dispatcher records the send (issue 10, item 1). The log channel has no callbacks and no
provider ids, so it could only replay what this test is meant to find. An example costs a few tenths of
a second, almost all of it HTTP on loopback.

Each example gets its own database (a copy of the migrated template), fake and app (workspace()): the
holdout's buckets hash the contact and campaign ids, so only a fresh database replays an example exactly,
which hypothesis needs to shrink a failure.

Design choices the assertions state rather than hide:
- "Sent" is every row a provider took (sent_at set), so a message the carrier failed after taking it is
  in Sent and in Failed; the statuses, not those two figures, partition the audience.
- A row the dispatcher never recorded (the sender died; the row went `unknown`, or back to `pending` and
  was sent again under at-least-once) carries only what the callbacks told: with no priced callback it has
  no cost, though the provider may have charged for it; an at-least-once resend is charged twice by the
  provider and recorded once. The report reconciles with the rows; the rows say what Herald knows.
- The report shows no SMS segment total, so segments are checked row by row against what the provider
  counted for the text it was given (the cost of an unpriced SMS is segments x the configured price).
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import socket
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Numeric, String, text
from werkzeug.serving import make_server

from audiences import Contact, add_suppressions, set_consent
from campaigns import campaign_report, create_campaign, create_template
from campaigns.ab_test import set_holdout
from campaigns.delivery.costs import add_fixed_cost
from campaigns.delivery.sender import make_dispatcher, send_campaign_now
from campaigns.results.report_export import report_csv, report_xlsx
from campaigns.results.report_numbers import money
from campaigns.results.report_settings import ReportSettings
from channels import Accepted, Outgoing, RateLimiter, SendResult, open_channel
from core.clock import FrozenClock
from core.config import Config
from core.db import Database
from tests.campaigns.factories import make_list
from tests.conftest import _drop_pg, _fresh_pg, _fresh_sqlite, make_config
from tests.fakes.fake_twilio import FakeTwilio
from web.app import create_app

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
WORKSPACE = "CNY"
RATES = {"USD": Decimal("7.10"), "EUR": Decimal("7.80")}
PRICE_PER_SEGMENT = Decimal("0.0079")  # [channels.sms] price_per_segment's default, in the workspace currency
ONE_SEGMENT = "Spring sale: 20% off today, {{ contact.first_name }}"
TWO_SEGMENTS = "【Herald】" + "春季会员日全场八折，" * 6 + "回复TD退订"  # 71 UCS-2 characters: 2 segments

# Every status a row can end in, and the ones the materialisation writes instead of a message.
PARTITION = ("pending", "sending", "waiting", "sent", "delivered", "failed", "unknown", "suppressed", "capped",
             "duplicate", "held_out", "cancelled")
NOT_SENT = ("suppressed", "capped", "duplicate", "held_out", "waiting", "cancelled")
UNREACHABLE = ("suppressed", "capped", "duplicate", "held_out", "waiting")

_numbers = itertools.count(1)


# ---------------------------------------------------------------- the scenario hypothesis draws
@dataclass(frozen=True)
class Answer:
    """What the provider says about one accepted message, and when."""

    final: str  # "delivered", "undelivered", "failed" or "none" (no final word)
    say_sent: bool  # a "sent" callback too
    when: str  # "before" the send is recorded, "after" it, or "split" (the first callback before, the rest after)
    copies: int  # each callback is posted this many times
    price: str | None  # the provider's price on its final callback (Twilio writes it negative)


@dataclass(frozen=True)
class Person:
    number: str  # "own", "shared0", "shared1", "none", "invalid" (21211) or "opted_out" (21610 at the provider)
    unsubscribed: bool
    listed: bool  # on the suppression list
    messaged_today: bool  # in the first campaign too, so the cap of 1 catches them in the second
    tier: str | None
    region: str | None
    answer: Answer


@dataclass(frozen=True)
class Scenario:
    people: list[Person]
    holdout_percent: int
    guarantee: str
    body: str
    batch_size: int
    faults: list[str]  # "drop", "503", "429": the next sends fail so, in this order
    crash_batches: frozenset[int]  # the sender dies after the provider took these batches (0 = the first)
    fixed_costs: list[tuple[str, str]]  # (amount, currency)


answers = st.builds(
    Answer,
    final=st.sampled_from(["delivered", "delivered", "undelivered", "failed", "none"]),
    say_sent=st.booleans(),
    when=st.sampled_from(["before", "after", "split"]),
    copies=st.integers(1, 2),
    price=st.sampled_from([None, None, "-0.00750", "-0.01500"]),
)
people = st.builds(
    Person,
    number=st.sampled_from(["own", "own", "own", "shared0", "shared0", "shared1", "none", "invalid", "opted_out"]),
    unsubscribed=st.sampled_from([False, False, True]),
    listed=st.sampled_from([False, False, False, True]),
    messaged_today=st.sampled_from([False, False, True]),
    tier=st.sampled_from(["A", "B", None, ""]),
    region=st.sampled_from(["Beijing", "Shanghai", None]),
    answer=answers,
)
scenarios = st.builds(
    Scenario,
    people=st.lists(people, min_size=1, max_size=9),
    holdout_percent=st.sampled_from([0, 0, 20, 50]),
    guarantee=st.sampled_from(["at_most_once", "at_least_once"]),
    body=st.sampled_from([ONE_SEGMENT, TWO_SEGMENTS]),
    batch_size=st.integers(1, 4),
    faults=st.lists(st.sampled_from(["drop", "503", "429"]), max_size=3),
    crash_batches=st.frozensets(st.integers(0, 3), max_size=1),
    fixed_costs=st.lists(st.tuples(st.sampled_from(["5.00", "12.50"]), st.sampled_from(["CNY", "USD"])),
                         max_size=2),
)


# ---------------------------------------------------------------- the provider's habits around the real channel
class SenderDied(RuntimeError):
    """Raised by FastProvider.send after the provider took the batch: the process died before recording it."""


@dataclass(frozen=True)
class Callback:
    sid: str
    status: str
    price: str | None


class FastProvider:
    """The real Twilio channel; around each send, the provider's callbacks for what it accepted, posted to
    Herald's webhook before send() returns (a fast provider) or kept for later (`late`), as each number's
    Answer says. Raises SenderDied after the batches in `crash_batches`."""

    def __init__(self, real: Any, fake: FakeTwilio, answer_of: dict[str, Answer], crash_batches: frozenset[int],
                 rnd: random.Random) -> None:
        self.real, self.fake, self.answer_of, self.crash_batches, self.rnd = real, fake, answer_of, crash_batches, rnd
        self.name, self.rate, self.dry_run = real.name, real.rate, False
        self.max_length = real.max_length  # the dispatcher checks each text against it before sending
        self.late: list[Callback] = []
        self.batches = 0
        self.unrecorded: set[int] = set()  # message ids of the batches whose sender died

    def send(self, batch: Sequence[Outgoing]) -> list[SendResult]:
        results = self.real.send(batch)
        for result in results:
            if isinstance(result, Accepted):
                to = next(m.to for m in batch if m.message_id == result.message_id)
                self._answer(result.provider_id, self.answer_of[to])
        died = self.batches in self.crash_batches
        self.batches += 1
        if died:
            self.unrecorded |= {m.message_id for m in batch}
            raise SenderDied(f"the sender died after the provider took {len(batch)} messages")
        return results

    def _answer(self, sid: str, answer: Answer) -> None:
        says = [Callback(sid, "sent", None)] if answer.say_sent else []
        if answer.final != "none":
            says.append(Callback(sid, answer.final, answer.price))
        says = [c for c in says for _ in range(answer.copies)]
        self.rnd.shuffle(says)  # "delivered" may well come before "sent"
        now = says if answer.when == "before" else says[:1] if answer.when == "split" else []
        for callback in now:
            self.post(callback)
        self.late.extend(says[len(now):])

    def post(self, callback: Callback) -> None:
        failing = callback.status in ("failed", "undelivered")
        answered = self.fake.send_status_callback(callback.sid, callback.status, price=callback.price,
                                                  error_code=30003 if failing else None,
                                                  num_segments=self._segments(callback.sid))
        assert answered == 204, f"Herald answered {answered} to a {callback.status} callback"

    def _segments(self, sid: str) -> int:
        return int(next(m["num_segments"] for m in self.fake.messages if m["sid"] == sid))

    def post_some_late(self) -> None:
        self.rnd.shuffle(self.late)
        for _ in range(self.rnd.randint(0, len(self.late))):
            self.post(self.late.pop())

    def close(self) -> None:
        self.real.close()

    def describe(self) -> str:
        return self.real.describe()


# ---------------------------------------------------------------- a workspace per example
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Workspace:
    config: Config
    database: Database
    fake: FakeTwilio
    clock: FrozenClock


@contextmanager
def workspace(request, directory: Path) -> Iterator[Workspace]:
    """A fresh migrated database (a copy of the session's template), a FakeTwilio, and Herald's web app on the
    port its base_url names, so the fake's callbacks reach the real webhook. Fresh per example: ids (and so
    the holdout's buckets) are the same each time hypothesis replays an example, and nothing leaks between
    examples."""
    directory.mkdir(parents=True)
    if request.node.callspec.params["backend"] == "postgres":
        name, db_url = _fresh_pg(request.getfixturevalue("_pg_template"))
    else:
        name, db_url = None, _fresh_sqlite(request.getfixturevalue("_sqlite_template"), directory)
    port = _free_port()
    with FakeTwilio() as fake:
        config = make_config(directory, db_url, HERALD_CHANNELS_SMS_URL=fake.channel_url(rate="100000/second"),
                             HERALD_BASE_URL=f"http://127.0.0.1:{port}", HERALD_CURRENCY=WORKSPACE,
                             HERALD_CURRENCY_RATES=",".join(f"{c}={r}" for c, r in RATES.items()),
                             HERALD_CAPS_MESSAGES="1", HERALD_CAPS_DAYS="7")
        database, clock = Database(str(config.database_url)), FrozenClock(T0)
        server = make_server("127.0.0.1", port, create_app(config, database=database, clock=clock), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield Workspace(config, database, fake, clock)
        finally:
            server.shutdown()
            database.dispose()
            if name:
                _drop_pg(name)


# ---------------------------------------------------------------- driving one scenario
def _make_people(session, fake: FakeTwilio, scenario: Scenario, now: datetime) -> tuple[list[Contact], dict]:
    shared = {f"shared{k}": f"+8613{next(_numbers):09d}" for k in range(2)}
    contacts, answer_of = [], {}
    for person in scenario.people:
        number = None if person.number == "none" else shared.get(person.number) or f"+8613{next(_numbers):09d}"
        if person.number == "invalid":
            fake.invalid_numbers.add(number)
        elif person.number == "opted_out":
            fake.opted_out_numbers.add(number)
        contact = Contact(phone=number, email=None, first_name="芳", last_name="王", attributes={},
                          value_tier=person.tier, region=person.region, created_at=now, updated_at=now)
        session.add(contact)
        session.commit()
        if person.unsubscribed:
            set_consent(session, contact.id, "sms", "unsubscribed", source="test", now=now)
        if person.listed and number:
            add_suppressions(session, [number], channel="sms", reason="test", default_region="CN", now=now)
        if number:
            answer_of.setdefault(number, person.answer)  # one provider behaviour per number
        contacts.append(contact)
    return contacts, answer_of


def _start(session, config, scenario: Scenario, name: str, members: list[Contact], now: datetime) -> int:
    audience = make_list(session, f"{name} {next(_numbers)}", members, now=now)
    template = create_template(session, name=name, channel="sms", body=scenario.body, now=now)
    campaign = create_campaign(session, name=name, channel="sms", template_id=template.id, list_id=audience.id,
                               guarantee=scenario.guarantee, now=now)
    if scenario.holdout_percent:
        set_holdout(session, campaign.id, holdout_percent=scenario.holdout_percent)
    for amount, currency in scenario.fixed_costs:
        add_fixed_cost(session, campaign.id, label="Creative", amount=amount, currency=currency, now=now)
    send_campaign_now(session, campaign.id, config=config, now=now)
    return campaign.id


def _open_rows(session, campaign_ids: list[int]) -> int:
    count = session.execute(text("SELECT COUNT(*) FROM messages WHERE status IN ('pending', 'sending') "
                                 "AND campaign_id IN (" + ",".join(map(str, campaign_ids)) + ")")).scalar_one()
    session.commit()
    return count


def _drain(session, dispatcher, provider: FastProvider, clock: FrozenClock, campaign_ids: list[int]) -> None:
    """Run the dispatch loop as the sender threads do, the provider's late callbacks between its turns,
    moving the clock on whenever nothing is due (retries, throttle holds, expired leases)."""
    for _ in range(200):
        try:
            handled = dispatcher.dispatch_due()
        except SenderDied:
            handled = 1
        provider.post_some_late()
        if handled:
            continue
        if _open_rows(session, campaign_ids):
            clock.advance(minutes=10)
        elif provider.late:
            for callback in provider.late:
                provider.post(callback)
            provider.late.clear()
        else:
            return
    raise AssertionError("the sender never became idle")


def _run(session, w: Workspace, scenario: Scenario, rnd: random.Random) -> None:
    database, config, fake, clock = w.database, w.config, w.fake, w.clock
    now = clock.now()
    contacts, answer_of = _make_people(session, fake, scenario, now)
    listed = {c.phone for c, p in zip(contacts, scenario.people, strict=True) if p.listed and c.phone}
    earlier = [c for c, p in zip(contacts, scenario.people, strict=True) if p.messaged_today]
    campaign_ids = []
    if earlier:
        campaign_ids.append(_start(session, config, scenario, "Earlier today", earlier, now))
    campaign_ids.append(_start(session, config, scenario, "Spring", contacts, now))
    for fault in scenario.faults:
        fake.drop_connections(1) if fault == "drop" else fake.fail_next(1, int(fault))
    provider = FastProvider(open_channel(str(config.channels["sms"].url)), fake, answer_of, scenario.crash_batches,
                            rnd)
    dispatcher = make_dispatcher(config, database, {"sms": provider}, RateLimiter("memory://"), clock)
    dispatcher.batch_size = scenario.batch_size
    try:
        _drain(session, dispatcher, provider, clock, campaign_ids)
    finally:
        provider.close()
    unreachable = {c.id for c, p in zip(contacts, scenario.people, strict=True)
                   if p.number == "none" or p.unsubscribed or c.phone in listed}
    for campaign_id in campaign_ids:
        suppressed = {r.contact_id for r in _typed_rows(session, campaign_id) if r.status == "suppressed"}
        assert suppressed == unreachable & {r.contact_id for r in _typed_rows(session, campaign_id)}
        _check_rows_against_the_provider(session, fake, campaign_id, scenario, provider.unrecorded)
        _check_report_reconciles(session, config, campaign_id)


# ---------------------------------------------------------------- the same figures, by plain SQL
def _q(session, sql: str, **params: Any) -> list[Any]:
    rows = session.execute(text(sql), params).all()
    session.commit()
    return rows


def _typed_rows(session, campaign_id: int) -> list[Any]:
    """Every row of the campaign with the figures the report is built from, cost as an exact Decimal."""
    query = text(
        "SELECT m.id, m.status, m.sent_at, m.delivered_at, m.cost, m.currency, m.segments, m.provider_id, "
        "m.error_code, m.channel, m.address, m.contact_id, c.value_tier, c.region "
        "FROM messages m JOIN contacts c ON c.id = m.contact_id "
        "WHERE m.campaign_id = :c ORDER BY m.id"
    ).columns(cost=Numeric(14, 6), currency=String, value_tier=String, region=String)
    rows = session.execute(query, {"c": campaign_id}).all()
    session.commit()
    return rows


def _in_workspace(cost: Decimal | None, currency: str | None) -> Decimal:
    if cost is None:
        return Decimal(0)
    code = (currency or WORKSPACE).upper()
    return cost if code == WORKSPACE else cost * RATES[code]


def _slice_figures(rows: list[Any], key) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        k = key(r)
        k = "—" if k in (None, "") else k
        s = out.setdefault(k, {"Audience": 0, "Sent": 0, "Delivered": 0, "Failed": 0, "Cost": Decimal(0)})
        s["Audience"] += 1
        s["Sent"] += r.sent_at is not None
        s["Delivered"] += r.status == "delivered"
        s["Failed"] += r.status == "failed"
        s["Cost"] += _in_workspace(r.cost, r.currency)
    return out


def _check_report_reconciles(session, config, campaign_id: int) -> None:
    statuses = dict(_q(session, "SELECT status, COUNT(*) FROM messages WHERE campaign_id = :c GROUP BY status",
                       c=campaign_id))
    members = _q(session, "SELECT COUNT(*) FROM list_members lm JOIN campaigns c ON c.list_id = lm.list_id "
                          "WHERE c.id = :c", c=campaign_id)[0][0]
    fixed = _q(session, "SELECT amount, currency FROM campaign_costs WHERE campaign_id = :c", c=campaign_id)
    failures = dict(_q(session, "SELECT error_code, COUNT(*) FROM messages WHERE campaign_id = :c "
                                "AND status = 'failed' GROUP BY error_code", c=campaign_id))
    rows = _typed_rows(session, campaign_id)
    sent = sum(r.sent_at is not None for r in rows)
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r.cost:
            by_currency[r.currency or WORKSPACE] += r.cost
    variable = sum((_in_workspace(r.cost, r.currency) for r in rows), Decimal(0))
    fixed_total = sum((_in_workspace(Decimal(str(a)), cur) for a, cur in fixed), Decimal(0))

    report = campaign_report(session, campaign_id, ReportSettings.from_config(config))
    session.commit()

    # audience = sent + delivered + failed + unknown + pending … + suppressed + capped + duplicate + held out
    assert set(statuses) <= set(PARTITION), f"a status outside the report's partition: {statuses}"
    assert sum(statuses.values()) == members == report.total.audience
    assert report.counts == statuses
    assert statuses.get("pending", 0) == statuses.get("sending", 0) == 0  # the sender finished
    assert report.total.audience == sum(report.count(s) for s in PARTITION)
    assert (report.total.sent, report.total.delivered, report.total.failed, report.unknown) == (
        sent, statuses.get("delivered", 0), statuses.get("failed", 0), statuses.get("unknown", 0))
    assert {f.code: f.count for f in report.failures} == failures

    # cost = Σ message cost (each converted to the workspace currency) + fixed costs
    assert report.currency == WORKSPACE
    assert {c: v for c, v in report.cost_by_currency.items() if v} == dict(by_currency)
    assert report.unconverted == {}
    assert report.variable_cost.quantize(Decimal("0.000001")) == variable.quantize(Decimal("0.000001"))
    assert report.fixed_cost == fixed_total
    assert report.cost.quantize(Decimal("0.000001")) == (variable + fixed_total).quantize(Decimal("0.000001"))

    reachable = members - sum(statuses.get(s, 0) for s in UNREACHABLE)
    funnel = [("Audience", members), ("Reachable", reachable), ("Sent", sent),
              ("Delivered", statuses.get("delivered", 0)), ("Clicked", 0), ("Converted", 0)]
    assert report.funnel() == funnel

    tables = {"channels": _slice_figures(rows, lambda r: r.channel),
              "segment_value_tier": _slice_figures(rows, lambda r: r.value_tier),
              "segment_region": _slice_figures(rows, lambda r: r.region)}
    shown = {"channels": report.by_channel, "segment_value_tier": report.by_segment["value_tier"],
             "segment_region": report.by_segment["region"]}
    for key, expected in tables.items():
        got = {s.key: {"Audience": s.audience, "Sent": s.sent, "Delivered": s.delivered, "Failed": s.failed,
                       "Cost": s.cost} for s in shown[key]}
        assert {k: {**v, "Cost": money(v["Cost"])} for k, v in got.items()} == {
            k: {**v, "Cost": money(v["Cost"])} for k, v in expected.items()}, key

    if statuses.get("held_out"):
        assert report.holdout is not None
        assert (report.holdout.held_out.people, report.holdout.sent.people) == (statuses["held_out"], sent)
    delivered_at = sum(r.delivered_at is not None and r.sent_at is not None for r in rows)
    assert sum(p["sent"] for p in report.series.values()) == sent
    assert sum(p["delivered"] for p in report.series.values()) == delivered_at == statuses.get("delivered", 0)

    summary = {"Audience": members, "Suppressed": statuses.get("suppressed", 0),
               "Capped": statuses.get("capped", 0), "Duplicate address": statuses.get("duplicate", 0),
               "Held out": statuses.get("held_out", 0), "Sent": sent, "Delivered": statuses.get("delivered", 0),
               "Failed": statuses.get("failed", 0), "Unknown": statuses.get("unknown", 0),
               "Cost of messages": money(variable), "Fixed costs": money(fixed_total),
               "Cost": money(variable + fixed_total)}
    _check_exports(report, summary, funnel, tables)
    api = report.to_dict()
    assert api["counts"] == statuses
    assert {s["key"]: s["sent"] for s in api["by_channel"]} == {k: v["Sent"] for k, v in tables["channels"].items()}
    assert [(f["step"], f["people"]) for f in api["funnel"]] == funnel
    assert (api["summary"]["audience"], api["summary"]["sent"], api["summary"]["cost"]) == (
        members, sent, money(variable + fixed_total))


def _check_exports(report, summary: dict[str, Any], funnel: list[tuple[str, int]],
                   tables: dict[str, dict[str, dict[str, Any]]]) -> None:
    """The CSV of each table and the XLSX workbook say what the SQL says."""
    def as_csv(key: str) -> tuple[list[str], list[list[str]]]:
        header, *body = list(csv.reader(io.StringIO(report_csv(report, key))))
        return header, body

    _, body = as_csv("summary")
    csv_summary = dict(body)
    assert {label: csv_summary[label] for label in summary} == {k: str(v) for k, v in summary.items()}
    assert as_csv("funnel")[1] == [[step, str(n)] for step, n in funnel]
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(report)))
    sheet_summary = {row[0].value: row[1].value for row in book["Summary"].iter_rows(min_row=2)}
    for label, value in summary.items():
        cell = sheet_summary[label]
        assert (str(Decimal(str(cell)).quantize(Decimal(value))) if isinstance(value, str) else cell) == value, label
    assert [(r[0].value, r[1].value) for r in book["Funnel"].iter_rows(min_row=2)] == funnel
    titles = {"channels": "By channel", "segment_value_tier": "By value tier", "segment_region": "By region"}
    for key, expected in tables.items():
        header, body = as_csv(key)
        column = {name: i for i, name in enumerate(header)}
        from_csv = {row[0]: {name: row[column[name]] for name in ("Audience", "Sent", "Delivered", "Failed", "Cost")}
                    for row in body}
        assert from_csv == {k: {**{n: str(v[n]) for n in ("Audience", "Sent", "Delivered", "Failed")},
                                "Cost": money(v["Cost"])} for k, v in expected.items()}, key
        sheet = list(book[titles[key]].iter_rows(values_only=True))
        column = {name: i for i, name in enumerate(sheet[0])}
        from_xlsx = {row[0]: tuple(row[column[n]] for n in ("Audience", "Sent", "Delivered", "Failed"))
                     for row in sheet[1:]}
        assert from_xlsx == {k: (v["Audience"], v["Sent"], v["Delivered"], v["Failed"]) for k, v in expected.items()}


def _check_rows_against_the_provider(session, fake: FakeTwilio, campaign_id: int, scenario: Scenario,
                                     unrecorded: set[int]) -> None:
    """The row is the truth: every message the provider took is on a row that says it went (or that it may
    have: unknown), nothing excluded reached the provider, and what a row says it cost is what it was
    counted and priced at."""
    taken = Counter(int(r["StatusCallback"].rsplit("/", 1)[1]) for r in fake.requests if r["http_status"] == 201)
    segments_of = {m["sid"]: int(m["num_segments"]) for m in fake.messages}
    rows = _typed_rows(session, campaign_id)
    going = [r.address for r in rows if r.status not in NOT_SENT]
    assert len(going) == len(set(going)), f"one number got several messages in one run: {sorted(going)}"
    for r in rows:
        if r.status in NOT_SENT:
            assert taken[r.id] == 0, f"message {r.id} is {r.status} but the provider took it"
        if taken[r.id]:
            assert r.sent_at is not None or r.status == "unknown", f"message {r.id} was taken but is {r.status}"
        if r.sent_at is not None:
            assert taken[r.id] >= 1 and r.provider_id in segments_of
            assert r.segments == segments_of[r.provider_id]
        if scenario.guarantee == "at_most_once":
            assert taken[r.id] <= 1, f"message {r.id} was sent {taken[r.id]} times under at-most-once"
        if r.sent_at is not None and r.cost is None:
            assert r.id in unrecorded, f"message {r.id} was sent and recorded, but has no cost"
        if r.cost is not None and r.currency == WORKSPACE:
            assert r.cost == PRICE_PER_SEGMENT * r.segments, f"message {r.id}: {r.cost} for {r.segments} segments"


# ---------------------------------------------------------------- the property
@settings(max_examples=20, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          # `request` and `tmp_path` only: each example makes its own workspace (see workspace()).
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios, seed=st.integers(0, 2**32 - 1))
def test_every_report_figure_reconciles_with_the_rows(backend, request, tmp_path, scenario, seed):
    with workspace(request, tmp_path / f"example-{next(_numbers)}") as w, w.database.session() as session:
        _run(session, w, scenario, random.Random(seed))
