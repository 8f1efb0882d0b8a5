"""Unknown is not the end: ask the provider what became of `unknown` messages (issue 12, item 5).

A row is `unknown` when its sender died after handing it over, or the provider's answer was lost.
Where the provider can be asked (channels.can_look_up: Twilio lists messages by To and DateSent;
SendGrid's Email Activity API and an http-sms gateway's declared query endpoint find a message by
Herald's own reference), the reconciler asks about each such row, some time after it became unknown:

- a message found by Herald's reference, or exactly one message to that number since the run started,
  with the same text, that no other row carries: the provider took it -> `sent`, with the provider's
  id, so its status callbacks apply;
- no message to that number since then at all: the provider never received it -> at most once,
  `failed` with code "not_received" (never resent, so nothing can be doubled); at least once, pending
  again, while its run is open;
- anything else (other texts to the number, several copies, a provider that could not answer, a
  template that no longer renders): left `unknown`, to be asked again next time.

Channels whose provider cannot be asked (SMTP, a gateway without a query endpoint) leave their rows
unknown. Each row resolved gets a "reconciled" event saying how, each run a line in its notes with the
counts and what was asked, and the round's result says per channel what was resolved and how
(`herald campaigns reconcile ID` prints it).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from campaigns import queries
from campaigns.delivery import outbox
from campaigns.delivery.dispatch import Dispatcher
from campaigns.delivery.outbox import ClaimedMessage, UnknownMessage
from campaigns.delivery.outgoing import group_by_channel
from campaigns.delivery.sender import make_dispatcher, open_configured_channels
from channels import (
    Accepted,
    Outgoing,
    RateLimiter,
    Refused,
    SendResult,
    SentQuestion,
    Sighting,
    can_look_up,
    text_as_sent,
)
from core.clock import Clock
from core.config import Config
from core.db import Database

log = logging.getLogger("herald.reconcile")

# A row is asked about only this long after it became unknown: a request still in flight when its
# sender died has landed by then, and Twilio has given the message its DateSent.
SETTLE_SECONDS = 600
# Room for the provider's clock being behind ours when comparing DateSent with the run's start.
CLOCK_SKEW = timedelta(minutes=5)
BATCH = 500  # rows asked about per round; the scheduler's next round takes the rest

NOT_RECEIVED = "not_received"
NOT_RECEIVED_REASON = ("the provider never received it: {channel} lists no message to {to} since {since} "
                       "(asked after the sender lost track of it)")


@dataclass
class Reconciliation:
    """What one round resolved, and how."""

    sent: int = 0  # the provider had it: now sent, with its id
    not_received: int = 0  # the provider never got it: failed (at most once)
    resent: int = 0  # the provider never got it: pending again (at least once)
    unresolved: int = 0  # asked, but the answer did not settle it (or the provider could not answer)
    cannot_ask: int = 0  # its channel's provider cannot be asked
    runs: Counter[int] = field(default_factory=Counter)  # rows resolved per run
    last_message_id: int | None = None  # the last row asked about, when a round was full (more may follow)
    # Per channel key ("sms", "email", "email:offers"): the outcomes above, counted, and how it was asked.
    channels: dict[str, Counter[str]] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)

    @property
    def resolved(self) -> int:
        return self.sent + self.not_received + self.resent

    def count(self, key: str, how: str, outcome: str, n: int = 1) -> None:
        """Count `n` rows of channel `key` (asked `how`) with `outcome`, in the totals and per channel."""
        setattr(self, outcome, getattr(self, outcome) + n)
        self.channels.setdefault(key, Counter())[outcome] += n
        self.how.setdefault(key, how)

    def add(self, other: Reconciliation) -> None:
        """Add another round's counts to these."""
        for key, counts in other.channels.items():
            for outcome, n in counts.items():
                self.count(key, other.how[key], outcome, n)
        self.runs.update(other.runs)

    def summary(self) -> str:
        return (f"{self.sent} found at the provider (now sent), {self.not_received} never received (failed), "
                f"{self.resent} never received (sent again), {self.unresolved} still unknown, "
                f"{self.cannot_ask} on a channel that cannot be asked")

    def by_channel(self) -> list[str]:
        """One line per channel: what was resolved, and how the provider was asked (or that it cannot be)."""
        lines = []
        for key in sorted(self.channels):
            counts = self.channels[key]
            parts = [f"{counts[outcome]} {words}" for outcome, words in _OUTCOME_WORDS if counts[outcome]]
            lines.append(f"{key}, asked through {self.how[key]}: {', '.join(parts)}")
        return lines


_OUTCOME_WORDS = (("sent", "found (now sent)"), ("not_received", "never received (failed)"),
                  ("resent", "never received (sent again)"), ("unresolved", "still unknown"),
                  ("cannot_ask", "cannot be asked, so they stay unknown"))


def reconcile_unknown(session: Session, dispatcher: Dispatcher, *, now: datetime, campaign_id: int | None = None,
                      settled_seconds: float = SETTLE_SECONDS, limit: int = BATCH,
                      after_message_id: int = 0) -> Reconciliation:
    """Ask the providers about up to `limit` unknown rows that became unknown `settled_seconds` ago or
    more (of one campaign, or all; ids above `after_message_id`), and record what they said (see the
    module doc); commits. When the round was full, `last_message_id` says where the next one starts.

    `dispatcher` renders the messages again (the text is what tells one message from another) and
    holds the channels to ask. Never raises for a provider's sake: what cannot be asked stays unknown.
    """
    result = Reconciliation()
    rows = {row.message_id: row for row in outbox.unknown_messages(
        session, unknown_before=now - timedelta(seconds=settled_seconds), campaign_id=campaign_id, limit=limit,
        after_message_id=after_message_id)}
    if not rows:
        session.rollback()
        return result
    result.last_message_id = max(rows) if len(rows) == limit else None
    batch = outbox.load_claimed(session, list(rows))
    session.commit()  # no transaction stays open while the providers are asked
    outgoing, unrenderable = dispatcher.composer.render(batch)
    for refused in unrenderable:
        kind = next(c.message.channel for c in batch if c.message.id == refused.message_id)
        result.count(kind, "nothing: the message no longer renders", "unresolved")
    answers: list[SendResult] = []
    descriptions: dict[int, str] = {}
    asked: dict[int, tuple[str, str]] = {}  # message id -> (channel key, how its provider was asked)
    for key, messages in group_by_channel(outgoing).items():
        channel = dispatcher.channels.get(key)
        if channel is None or not can_look_up(channel):
            name = getattr(channel, "name", "not configured")
            result.count(key, f"nothing ({name}: its provider keeps no list Herald can ask)", "cannot_ask",
                         len(messages))
            continue
        how = f"{channel.name}: {getattr(channel, 'look_up_how', 'its list of messages')}"
        questions = [SentQuestion(m.message_id, m.to, text_as_sent(channel, m.body),
                                  since=rows[m.message_id].run_started_at - CLOCK_SKEW) for m in messages]
        sightings = channel.look_up(questions)  # type: ignore[attr-defined]
        carried = outbox.messages_by_provider_id(session, {s.provider_id for seen in sightings.values()
                                                             for s in seen})
        session.commit()  # end the read before the next channel is asked
        for question in questions:
            descriptions[question.message_id] = channel.describe()
            answer = _answer(question, sightings.get(question.message_id), carried, rows[question.message_id],
                             channel.describe())
            asked[question.message_id] = (key, how)
            if answer is None:
                result.count(key, how, "unresolved")
            else:
                answers.append(answer)
    _record(session, dispatcher, batch, outgoing, answers, rows, descriptions, asked, result, now=now)
    log.info("event=reconciled campaign_id=%s %s", campaign_id if campaign_id is not None else "all",
             result.summary().replace(", ", " / "))
    return result


def _answer(question: SentQuestion, seen: Sequence[Sighting] | None, carried: dict[str, int], row: UnknownMessage,
            channel: str) -> SendResult | None:
    """What the provider's list says about one message: Accepted, a refusal (never received), or None."""
    if seen is None:  # the provider could not be asked this time
        return None
    # A message another row already carries is that row's, not this one's.
    theirs = [s for s in seen if carried.get(s.provider_id, question.message_id) == question.message_id]
    # Found under Herald's own reference for this message: it is this message, whatever else went to the
    # address (copies of it, at least once, all carry the same reference).
    referenced = [s for s in theirs if s.by_reference]
    if referenced:
        found = referenced[0]
        return Accepted(question.message_id, found.provider_id, segments=found.segments, cost=found.cost,
                        currency=found.currency)
    matching = [s for s in theirs if s.body == question.body]
    if len(matching) == 1 and len(theirs) == len(matching):
        found = matching[0]
        return Accepted(question.message_id, found.provider_id, segments=found.segments, cost=found.cost,
                        currency=found.currency)
    if theirs or (row.guarantee == "at_least_once" and not row.run_open):
        return None  # other messages to the number, or several copies: it cannot tell which is which
    reason = NOT_RECEIVED_REASON.format(channel=channel, to=question.to,
                                        since=question.since.strftime("%Y-%m-%d %H:%M UTC"))
    return Refused(question.message_id, permanent=row.guarantee == "at_most_once", code=NOT_RECEIVED, reason=reason)


def _record(session: Session, dispatcher: Dispatcher, batch: Sequence[ClaimedMessage], outgoing: dict[int, Outgoing],
            answers: Sequence[SendResult], rows: dict[int, UnknownMessage], descriptions: dict[int, str],
            asked: dict[int, tuple[str, str]], result: Reconciliation, *, now: datetime) -> None:
    """Record the answers as the dispatcher records a send's (sent / failed / retry, with their events),
    then a "reconciled" event per row and the counts in each run's notes; commits."""
    if not answers:
        return
    answered = {a.message_id for a in answers}
    dispatcher.record(session, [c for c in batch if c.message.id in answered], outgoing, answers)
    events = []
    per_run: dict[int, Counter[str]] = defaultdict(Counter)
    run_how: dict[int, set[str]] = defaultdict(set)
    for answer in answers:
        outcome = "sent" if isinstance(answer, Accepted) else NOT_RECEIVED if answer.permanent else "resent"
        run_id = rows[answer.message_id].run_id
        per_run[run_id][outcome] += 1
        key, how = asked[answer.message_id]
        run_how[run_id].add(how)
        result.count(key, how, outcome)
        result.runs[run_id] += 1
        events.append({"message_id": answer.message_id, "type": "reconciled", "occurred_at": now, "detail": {
            "outcome": outcome, "asked": descriptions.get(answer.message_id, ""),
            **({"provider_id": answer.provider_id} if isinstance(answer, Accepted) else {"reason": answer.reason})}})
    queries.add_events(session, events)
    outbox.append_run_notes(session, {run_id: _note(counts, run_how[run_id], now)
                                      for run_id, counts in per_run.items()})
    session.commit()


def _note(counts: Counter[str], hows: set[str], now: datetime) -> str:
    parts = [f"{counts['sent']} found at the provider (now sent)" if counts["sent"] else "",
             f"{counts[NOT_RECEIVED]} never received by it (failed, not resent)" if counts[NOT_RECEIVED] else "",
             f"{counts['resent']} never received by it (sent again)" if counts["resent"] else ""]
    return (f"reconciled {now.strftime('%Y-%m-%d %H:%M')} UTC: unknown messages asked of the provider: "
            + ", ".join(p for p in parts if p) + f" — asked through {'; '.join(sorted(hows))}")


def reconcile_with_config(config: Config, database: Database, clock: Clock, *, campaign_id: int | None = None,
                          settled_seconds: float = SETTLE_SECONDS) -> Reconciliation:
    """Open the configured channels, reconcile every unknown row due, BATCH rows a round, close them.
    Used by `herald campaigns reconcile` and the scheduler's housekeeping job."""
    channels = open_configured_channels(config)
    total = Reconciliation()
    try:
        dispatcher = make_dispatcher(config, database, channels, RateLimiter("memory://"), clock)
        after = 0
        while True:
            with database.session() as session:
                round_ = reconcile_unknown(session, dispatcher, now=clock.now(), campaign_id=campaign_id,
                                           settled_seconds=settled_seconds, after_message_id=after)
            total.add(round_)
            if round_.last_message_id is None:
                return total
            after = round_.last_message_id
    finally:
        for channel in channels.values():
            channel.close()
