"""Leases that ran out: a sender that stopped after claiming leaves rows `sending`; they are settled by
the campaign's delivery guarantee — never handed over: pending again; handed over: `unknown` at most
once (never resent), pending again at least once (resent with the same Message-ID)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from campaigns import queries
from campaigns.delivery import outbox

log = logging.getLogger("herald.dispatch")

UNKNOWN_REASON = ("the sender stopped after claiming this message; it may or may not have been sent, so it is not "
                  "resent (at-most-once)")
ANSWER_LOST_REASON = ("the provider's answer was lost after it received the message, so it may or may not have been "
                      "sent; it is not resent (at-most-once)")
UNTRIED_REASON = ("the sender stopped after claiming this message and before handing it to the provider; it is "
                  "sent by the next sender")
RESEND_REASON = ("the sender stopped after claiming this message; it is sent again (at-least-once), so the "
                 "recipient may get it twice")


def release_expired_leases(session: Session, *, now: datetime) -> int:
    """Settle messages whose sender stopped after claiming them (lease expired); commits. Returns rows.

    Rows it had not handed to the provider yet (Message.handed_over false): pending, due now, whatever
    the guarantee, the attempt given back (event "retry"). The others: at_most_once campaigns -> unknown,
    never resent (event "unknown" saying why); at_least_once -> pending, due now (event "retry").
    Set-based: one UPDATE per kind, one INSERT of events.
    Runs left with nothing to send are completed.
    """
    # First the rows the dead sender had not handed over yet (Message.handed_over): nobody has seen them.
    untried = outbox.release_untried_leases(session, now=now)
    unknown = outbox.settle_expired_leases(session, now=now, guarantee="at_most_once", reason=UNKNOWN_REASON)
    resend = outbox.settle_expired_leases(session, now=now, guarantee="at_least_once", reason=RESEND_REASON)
    if not untried and not unknown and not resend:
        session.rollback()  # end the (empty) transaction: on SQLite it holds the write lock
        return 0
    queries.add_events(session, [message_event(mid, "retry", now, reason=UNTRIED_REASON) for mid, _ in untried]
                       + [message_event(mid, "unknown", now, reason=UNKNOWN_REASON) for mid, _ in unknown]
                       + [message_event(mid, "retry", now, reason=RESEND_REASON) for mid, _ in resend])
    queries.finish_idle_runs(session, {run_id for _, run_id in unknown}, now=now)
    session.commit()
    log.warning("event=leases_expired untried=%d unknown=%d resend=%d", len(untried), len(unknown), len(resend))
    return len(untried) + len(unknown) + len(resend)


def message_event(message_id: int, type_: str, at: datetime, **detail: Any) -> dict[str, Any]:
    return {"message_id": message_id, "type": type_, "occurred_at": at,
            "detail": {k: v for k, v in detail.items() if v is not None}}
