"""No contact exceeds the frequency cap over any window of the cap's length, whatever the interleaving of
materialisations (issue 10, "The invariant", second property).

Hypothesis draws rounds days apart; in each, two or three campaigns (marketing, some with their own cap, some
event notices, which neither count nor are held back) are materialised at once from threads — with a barrier
that makes each wait, after writing its rows, for the others to write theirs, or with random start delays —
and the outbox is sent (through the real Dispatcher) or left pending for the next round; or the sender dies
after the provider took a batch, and the provider's "delivered" arrives a round later. Then, for every
contact, any closed window of the cap's length holds at most the cap's count of marketing SMS sent.

Each example gets a fresh database (a copy of the migrated template): the examples must not see each other's
messages, and hypothesis replays an example to shrink it.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from campaigns import apply_channel_events, create_campaign, create_event_notice, create_template, send_campaign
from campaigns.audience.caps import FrequencyCap
from channels import ChannelEvent
from core.clock import FrozenClock
from core.db import Database
from tests.campaigns.factories import ScriptedChannel, make_contact, make_dispatcher, make_list
from tests.conftest import _drop_pg, _fresh_pg, _fresh_sqlite

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
CAP_DAYS = 7
_names = itertools.count(1)


@dataclass(frozen=True)
class Launch:
    notice: bool  # an event notice: ignores the cap and does not count towards it
    own_cap: int | None  # the campaign's own cap (messages in CAP_DAYS), else the configured one
    audience: frozenset[int]  # indexes of the contacts on its list


@dataclass(frozen=True)
class Round:
    hours_later: int
    launches: list[Launch]
    barrier: bool  # each materialisation waits for the others after writing its rows
    send: bool  # the sender runs after the round (else the rows stay pending into the next)
    sender_dies: bool  # ... and dies after the provider took its first batch; the provider's "delivered"
    # for that batch arrives after the next round (the rows are `unknown` by then if their lease expired)


@dataclass(frozen=True)
class Scenario:
    contacts: int
    cap: int
    rounds: list[Round]


def _launches(contacts: int) -> st.SearchStrategy[Launch]:
    return st.builds(Launch, notice=st.sampled_from([False, False, False, True]),
                     own_cap=st.sampled_from([None, None, 1, 2]),
                     audience=st.frozensets(st.integers(0, contacts - 1), min_size=1))


@st.composite
def scenarios(draw) -> Scenario:
    contacts = draw(st.integers(1, 4))
    rounds = draw(st.lists(st.builds(Round, hours_later=st.sampled_from([0, 1, 24, 72, 24 * 6, 24 * 7, 24 * 8]),
                                     launches=st.lists(_launches(contacts), min_size=2, max_size=3),
                                     barrier=st.booleans(), send=st.booleans(),
                                     sender_dies=st.sampled_from([False, False, True])), min_size=1, max_size=4))
    return Scenario(contacts=contacts, cap=draw(st.integers(1, 3)), rounds=rounds)


@contextmanager
def fresh_database(request, directory: Path) -> Iterator[Database]:
    directory.mkdir(parents=True)
    if request.node.callspec.params["backend"] == "postgres":
        name, url = _fresh_pg(request.getfixturevalue("_pg_template"))
    else:
        name, url = None, _fresh_sqlite(request.getfixturevalue("_sqlite_template"), directory)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()
        if name:
            _drop_pg(name)


def _materialise_at_once(database: Database, campaign_ids: list[int], *, now: datetime, cap: FrequencyCap,
                         barrier: bool, rnd: random.Random) -> None:
    """send_campaign for each campaign from its own thread, at the same moment."""
    both_written = threading.Barrier(len(campaign_ids), timeout=0.3)
    start = threading.Barrier(len(campaign_ids), timeout=10)
    delays = [rnd.random() / 50 for _ in campaign_ids]

    def wait_for_the_others(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO MESSAGES"):
            try:
                both_written.wait()
            except threading.BrokenBarrierError:
                pass  # the others wait for this one to commit: serialised, as they should be

    errors: list[BaseException] = []

    def send(campaign_id: int, delay: float) -> None:
        try:
            start.wait()
            threading.Event().wait(delay)
            with database.session() as s:
                send_campaign(s, campaign_id, now=now, channel_description="scripted://test", dry_run=False,
                              cap=cap)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    if barrier:
        event.listen(database.engine, "after_cursor_execute", wait_for_the_others)
    try:
        threads = [threading.Thread(target=send, args=(c, d)) for c, d in zip(campaign_ids, delays, strict=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        if barrier:
            event.remove(database.engine, "after_cursor_execute", wait_for_the_others)
    assert errors == []


def _run(database: Database, scenario: Scenario, rnd: random.Random) -> None:
    clock = FrozenClock(T0)
    cap = FrequencyCap(scenario.cap, CAP_DAYS)
    with database.session() as session:
        people = [make_contact(session, now=T0) for _ in range(scenario.contacts)]
        sms = create_template(session, name="SMS", channel="sms", body="Sale!", now=T0)
        dispatcher = make_dispatcher(database, ScriptedChannel(), clock)
        late: list[ChannelEvent] = []
        for round_ in scenario.rounds:
            clock.advance(hours=round_.hours_later)
            dispatcher.dispatch_due()  # settles the leases of a sender that died, as the next sender turn does
            ids = []
            for launch in round_.launches:
                audience = make_list(session, f"L{next(_names)}", [people[i] for i in sorted(launch.audience)],
                                     now=clock.now())
                make = create_event_notice if launch.notice else create_campaign
                options = {} if launch.notice or launch.own_cap is None else {"cap_messages": launch.own_cap}
                ids.append(make(session, name="C", channel="sms", template_id=sms.id, list_id=audience.id,
                                now=clock.now(), **options).id)
            _materialise_at_once(database, ids, now=clock.now(), cap=cap, barrier=round_.barrier, rnd=rnd)
            if late:
                apply_channel_events(session, late, now=clock.now())
                late = []
            if round_.send and round_.sender_dies:
                late = _send_and_die(database, clock)
            if round_.send:
                while dispatcher.dispatch_due():
                    pass
        apply_channel_events(session, late, now=clock.now())
        while dispatcher.dispatch_due():
            pass
        _check_no_window_over_the_cap(session, scenario, people)


def _send_and_die(database: Database, clock: FrozenClock) -> list[ChannelEvent]:
    """One sender turn whose process dies after the provider took the batch: the rows stay claimed. Returns
    the provider's "delivered" callbacks for them, to be delivered later."""
    def die() -> None:
        raise RuntimeError("the sender died after the provider took the batch")

    dying = ScriptedChannel(on_send=die)
    try:
        make_dispatcher(database, dying, clock).dispatch_due()
    except RuntimeError:
        pass
    return [ChannelEvent("delivered", message_id=m.message_id, provider_id=f"P{m.message_id}",
                         provider_status="delivered", occurred_at=clock.now()) for m in dying.sent]


def _check_no_window_over_the_cap(session, scenario: Scenario, people) -> None:
    rows = session.execute(text(
        "SELECT m.contact_id, m.sent_at, c.cap_messages, c.kind FROM messages m JOIN campaigns c "
        "ON c.id = m.campaign_id WHERE m.sent_at IS NOT NULL AND m.channel = 'sms' ORDER BY m.sent_at")).all()
    session.commit()
    sent: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for contact_id, sent_at, own_cap, kind in rows:
        if kind == "event_notice":
            continue
        at = sent_at if isinstance(sent_at, datetime) else datetime.fromisoformat(str(sent_at))
        sent[contact_id].append((at.replace(tzinfo=None), own_cap or scenario.cap))
    for contact_id, times in sent.items():
        for i, (start, _) in enumerate(times):
            window = [c for at, c in times[i:] if at <= start + timedelta(days=CAP_DAYS)]
            # Each message passed its own campaign's cap when it was materialised: the window may hold no
            # more than the largest cap among them.
            assert len(window) <= max(window), (
                f"contact {contact_id} got {len(window)} marketing SMS in the {CAP_DAYS} days from {start}")


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenario=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_no_contact_exceeds_the_cap_in_any_window_whatever_the_interleaving(backend, request, tmp_path, scenario,
                                                                            seed):
    with fresh_database(request, tmp_path / f"example-{next(_names)}") as database:
        _run(database, scenario, random.Random(seed))
