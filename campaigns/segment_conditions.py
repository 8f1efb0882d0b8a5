"""Segment conditions over what campaigns record: messages received, opened, clicked; purchases and spend.

audiences never imports campaigns (DESIGN §2), so these are registered into its rule compiler through
audiences.register_condition when campaigns is imported. Each compiles to an EXISTS or a correlated
SUM over messages / message_events / conversions, so a segment stays one SQL query.

- `message.received` / `message.opened` / `message.clicked`, op in_last_days / not_in_last_days,
  value {"days": N, "campaign_id": optional}: a message sent (or delivered), opened, clicked within the
  last N days, of that campaign or any. Opens and clicks flagged as a machine's (mail scanners, Apple
  Mail Privacy Protection; campaigns/responses/tracking.py) do not count.
- `conversion.bought`, op in_last_days / not_in_last_days, value {"days": N, "product": optional}: at
  least one conversion within the last N days (of that product).
- `conversion.spent`, op gt / gte / lt / lte, value {"days": N, "amount": X}: the total of conversions
  within the last N days, in the workspace currency (amount_base), compared with X; no purchase is 0.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, exists, false, func, or_, select

from audiences import Contact
from audiences.segments import MAX_DAYS, Condition, ConditionKind, register_condition
from campaigns.models import TEST_KIND, Campaign, Conversion, Message, MessageEvent

WINDOW_OPS = ("in_last_days", "not_in_last_days")
AMOUNT_OPS = ("gt", "gte", "lt", "lte")
RECEIVED = ("sent", "delivered")

Fail = Callable[[str], Exception]


def _since(today: date, days: int) -> datetime:
    return datetime.combine(today - timedelta(days=days), time(), tzinfo=UTC)


_KIND_WORDS: dict[Any, str] = {int: "a whole number", str: "text"}


def _check_window(value: Any, fail: Fail, extra: dict[str, type], shape: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"days", *extra} or "days" not in value:
        raise fail(shape)
    days = value["days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
        raise fail(f"{shape}, days a whole number from 0 to {MAX_DAYS}")
    for key, kind in extra.items():
        if key in value and value[key] is not None and (isinstance(value[key], bool)
                                                       or not isinstance(value[key], kind)):
            raise fail(f"{shape}, {key} {_KIND_WORDS.get(kind, 'a number')}")
    return dict(value)


# ---------------------------------------------------------------- messages
def _check_message(op: str, value: Any, fail: Fail) -> dict[str, Any]:
    return _check_window(value, fail, {"campaign_id": int}, '{"days": N} or {"days": N, "campaign_id": id}')


def _message_condition(event: str) -> Callable[[Condition, date], ColumnElement[bool]]:
    def compile_message(rule: Condition, today: date) -> ColumnElement[bool]:
        since = _since(today, rule.value["days"])
        # A test send (campaigns/delivery/seed_sends.py) went to a marketer with this contact's data, not to them.
        tests = select(Campaign.id).where(Campaign.kind == TEST_KIND)
        conditions = [Message.contact_id == Contact.id, Message.campaign_id.not_in(tests)]
        if rule.value.get("campaign_id") is not None:
            conditions.append(Message.campaign_id == rule.value["campaign_id"])
        if event == "received":
            return exists().where(*conditions, Message.status.in_(RECEIVED), Message.sent_at >= since)
        machine = MessageEvent.detail["machine"].as_boolean()
        return exists().where(*conditions, MessageEvent.message_id == Message.id, MessageEvent.type == event,
                              MessageEvent.occurred_at >= since, or_(machine.is_(None), machine == false()))

    return compile_message


# ---------------------------------------------------------------- conversions
def _check_bought(op: str, value: Any, fail: Fail) -> dict[str, Any]:
    return _check_window(value, fail, {"product": str}, '{"days": N} or {"days": N, "product": "…"}')


def _compile_bought(rule: Condition, today: date) -> ColumnElement[bool]:
    conditions = [Conversion.contact_id == Contact.id, Conversion.occurred_at >= _since(today, rule.value["days"])]
    if rule.value.get("product"):
        conditions.append(Conversion.product == rule.value["product"])
    return exists().where(*conditions)


def _check_spent(op: str, value: Any, fail: Fail) -> dict[str, Any]:
    shape = '{"days": N, "amount": X}'
    checked = _check_window(value, fail, {"amount": int | float}, shape)  # type: ignore[dict-item]
    if "amount" not in checked:
        raise fail(shape)
    return checked


def _compile_spent(rule: Condition, today: date) -> ColumnElement[bool]:
    total = (select(func.coalesce(func.sum(Conversion.amount_base), 0))
             .where(Conversion.contact_id == Contact.id,
                    Conversion.occurred_at >= _since(today, rule.value["days"]))
             .scalar_subquery())
    amount = Decimal(str(rule.value["amount"]))  # amounts are exact decimals in the database
    return {"gt": total > amount, "gte": total >= amount, "lt": total < amount, "lte": total <= amount}[rule.op]


def register() -> None:
    """Add these conditions to the segment compiler (idempotent)."""
    for event in ("received", "opened", "clicked"):
        register_condition(f"message.{event}", ConditionKind(ops=WINDOW_OPS, check=_check_message,
                                                              compile=_message_condition(event)))
    register_condition("conversion.bought", ConditionKind(ops=WINDOW_OPS, check=_check_bought,
                                                          compile=_compile_bought))
    register_condition("conversion.spent", ConditionKind(ops=AMOUNT_OPS, check=_check_spent,
                                                         compile=_compile_spent))


register()
