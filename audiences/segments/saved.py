"""Segments: saved rule trees, and the counts, samples and explanations a marketer sees while editing one.

The rules themselves (what a tree may say) are in rules.py, their SQL in to_sql.py. Every
function here runs a fixed number of queries whatever the number of contacts: the database filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audiences.models import Contact, Segment
from audiences.segments.fields import check_custom_field_types  # also registers tag, RFM, date conditions
from audiences.segments.rules import Condition, Group, check_rules
from audiences.segments.to_sql import compile_rules
from core.errors import Invalid, NotFound

NAME_LIMIT = 200
SAMPLE_LIMIT = 100


def segment_where(rules: Any, *, today: date) -> ColumnElement[bool]:
    """The rules as one SQL boolean over `contacts`. Raises SegmentRuleInvalid naming the bad rule."""
    return compile_rules(check_rules(rules), today=today)


def segment_select(rules: Any, *, today: date) -> Select[Any]:
    """The matching contacts as one SELECT of `contact_id`, not executed (a subquery, an IN, an INSERT … SELECT)."""
    return select(Contact.id.label("contact_id")).where(segment_where(rules, today=today))


def count_segment(session: Session, rules: Any, *, today: date) -> int:
    """How many contacts match. One COUNT query. Raises SegmentRuleInvalid."""
    return session.scalar(select(func.count()).select_from(Contact).where(segment_where(rules, today=today))) or 0


def sample_segment(session: Session, rules: Any, *, today: date, limit: int = 10) -> list[Contact]:
    """Up to `limit` (at most 100) matching contacts, lowest ids first. One query. Raises SegmentRuleInvalid."""
    limit = max(0, min(limit, SAMPLE_LIMIT))
    query = select(Contact).where(segment_where(rules, today=today)).order_by(Contact.id).limit(limit)
    return list(session.scalars(query))


def explain_segment(session: Session, rules: Any, *, today: date) -> list[dict[str, Any]]:
    """Per top-level rule: how many contacts it keeps on its own, and how many it removes from the rest.

    `count_alone` is the count of that rule alone. For an "all" tree, `excluded` is how many contacts
    the other rules keep that this one drops — the answer to "why is my audience empty". In an "any"
    tree a rule can only add contacts, so `excluded` is 0 there. One query, whatever the number of
    rules: each number is a SUM(CASE …) over the same scan of contacts.
    """
    tree = check_rules(rules)
    parts = [compile_rules(item, today=today) if isinstance(item, Group) else _condition_sql(item, today)
             for item in tree.items]
    if not parts:
        return []

    def counted(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    columns = [counted(part) for part in parts]
    if tree.kind == "all":
        whole = and_(*parts)
        columns += [counted(and_(*others)) if others else func.count() for others in _leave_one_out(parts)]
        columns.append(counted(whole))
    row = session.execute(select(*columns).select_from(Contact)).one()
    out = []
    for index, item in enumerate(tree.items):
        excluded = row[len(parts) + index] - row[-1] if tree.kind == "all" else 0
        out.append({"path": item.path, "rule": _as_json(item), "count_alone": row[index], "excluded": excluded})
    return out


@dataclass(frozen=True)
class SegmentPreview:
    """What the segment editor shows while rules change: the count, a few contacts, and each rule's effect."""

    count: int
    sample: list[Contact]
    explain: list[dict[str, Any]]


def preview_segment(session: Session, rules: Any, *, today: date, sample_size: int = 10) -> SegmentPreview:
    """count_segment, sample_segment and explain_segment together: three queries. Raises SegmentRuleInvalid,
    also for a condition that does not fit a custom field's type."""
    check_custom_field_types(session, check_rules(rules))
    return SegmentPreview(count=count_segment(session, rules, today=today),
                          sample=sample_segment(session, rules, today=today, limit=sample_size),
                          explain=explain_segment(session, rules, today=today))


def _leave_one_out(parts: list[ColumnElement[bool]]) -> list[list[ColumnElement[bool]]]:
    return [parts[:index] + parts[index + 1:] for index in range(len(parts))]


def _condition_sql(rule: Condition, today: date) -> ColumnElement[bool]:
    return compile_rules(Group(rule.path, "all", (rule,)), today=today)


def _as_json(item: Group | Condition) -> dict[str, Any]:
    if isinstance(item, Group):
        return {item.kind: [_as_json(child) for child in item.items]}
    out: dict[str, Any] = {"field": item.field, "op": item.op}
    if item.value is not None:
        value = item.value
        out["value"] = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
    return out


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


# ---------------------------------------------------------------- saved segments
def check_segment_name(name: Any) -> str:
    cleaned = " ".join(name.split()) if isinstance(name, str) else ""
    if not cleaned:
        raise Invalid("a segment needs a name — type one, e.g. A-tier customers in Beijing", field="name")
    if len(cleaned) > NAME_LIMIT:
        raise Invalid(f'segment name "{cleaned[:40]}..." is {len(cleaned)} characters long; the limit is '
                      f"{NAME_LIMIT}", field="name")
    return cleaned


def _checked_rules(session: Session, rules: Any) -> dict[str, Any]:
    # Raises SegmentRuleInvalid naming the rule; stored as given, so the UI gets its tree back.
    check_custom_field_types(session, check_rules(rules))
    return rules


def create_segment(session: Session, *, name: str, rules: Any, now: datetime) -> Segment:
    """Save a segment. Raises Invalid (empty or taken name) or SegmentRuleInvalid. Commits."""
    cleaned = check_segment_name(name)
    segment = Segment(name=cleaned, rules=_checked_rules(session, rules), created_at=now, updated_at=now)
    _refuse_taken_name(session, cleaned, None)
    session.add(segment)
    _commit(session, cleaned)
    return segment


def update_segment(session: Session, segment_id: int, *, now: datetime, name: str | None = None,
                   rules: Any = None) -> Segment:
    """Change a segment's name and/or rules; what is not given is kept. Raises NotFound, Invalid,
    SegmentRuleInvalid. Commits."""
    segment = get_segment(session, segment_id)
    if name is not None:
        segment.name = check_segment_name(name)
        _refuse_taken_name(session, segment.name, segment.id)
    if rules is not None:
        segment.rules = _checked_rules(session, rules)
    segment.updated_at = now
    _commit(session, segment.name)
    return segment


def get_segment(session: Session, segment_id: int) -> Segment:
    """The segment with this id. Raises NotFound."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist — list the segments to find its id")
    return segment


def list_segments(session: Session) -> list[Segment]:
    """Every saved segment, by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name, Segment.id)))


def _refuse_taken_name(session: Session, name: str, segment_id: int | None) -> None:
    query = select(Segment.id).where(Segment.name == name)
    if segment_id is not None:
        query = query.where(Segment.id != segment_id)
    taken = session.scalar(query)
    if taken is not None:
        raise Invalid(f'a segment named "{name}" already exists (segment {taken}) — pick another name', field="name")


def _commit(session: Session, name: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        # Someone saved the same name between our check and the write.
        session.rollback()
        raise Invalid(f'a segment named "{name}" already exists — pick another name', field="name") from None
