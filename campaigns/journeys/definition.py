"""A journey's definition: the JSON a builder edits, checked into frozen Python objects the engine reads.

The shape (every key optional unless said; a `next` of null ends the journey there):

    {"entry": [{"kind": "segment", "segment_id": 3} | {"kind": "segment", "rules": {…segment rules…}}
               | {"kind": "event", "event": "order_shipped"}],                       (at least one)
     "re_entry": {"policy": "once" | "every_time" | "after_days", "days": 30},     (default once; never twice
                                                             at once: an event while in the journey is ignored)
     "holdout_percent": 10,
     "goal": {"event": "purchased"},                         (reaching it completes the enrolment)
     "exit": {"events": ["unsubscribed"], "stay_while": {…}}, (an event; or no longer matching the rules)
     "start": "welcome",                                     (required: the first step's key)
     "steps": {"<key>": {"kind": …, …}}}                     (required; keys: a-z, 0-9, _; up to 40)

Step kinds (STEP_KINDS): send {channel, template_id, email_template_id?: the email sent instead to a
contact with no phone number (SMS only), next}; wait {days, hours, minutes, at?: "HH:MM" in the contact's
zone, weekdays?: [0=Monday … 6], next}; wait_for_event {event, timeout: {days, hours, minutes}, happened,
timed_out}; condition {rules, yes, no}; random_split {branches: [{weight, next}]}; update_contact
{add_tags, remove_tags, add_to_lists, remove_from_lists, set_fields: {lifecycle_stage | value_tier: …},
next}; exit {}.

Events a journey can wait for, enter on or aim at are Herald's own (HAPPENINGS: clicked, replied,
purchased, unsubscribed) or any name sent to the events API. Keys are stable: a new version keeps a
step's key for the same step, so reports and a later "move by step key" can follow it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from audiences import segment_where
from campaigns.audience.send_time import parse_time_of_day
from core.errors import Invalid

STEP_KINDS = ("send", "wait", "wait_for_event", "condition", "random_split", "update_contact", "exit")
HAPPENINGS = ("clicked", "replied", "purchased", "unsubscribed")
RE_ENTRY_POLICIES = ("once", "every_time", "after_days")
SETTABLE_FIELDS = ("lifecycle_stage", "value_tier")
_KEY = re.compile(r"^[a-z0-9_]{1,40}$")
_EVENT = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
MAX_STEPS = 200
MAX_WAIT_DAYS = 3660


class JourneyInvalid(Invalid):
    """A definition that cannot be saved or activated; `field` is the path, e.g. definition.steps.offer.next."""


@dataclass(frozen=True)
class Step:
    key: str
    kind: str
    options: Mapping[str, Any]  # the step's JSON, checked

    def exits(self) -> list[tuple[str, str | None]]:
        """(why, next step key or None) for every way out of this step."""
        o = self.options
        if self.kind == "wait_for_event":
            return [("happened", o.get("happened")), ("timed_out", o.get("timed_out"))]
        if self.kind == "condition":
            return [("yes", o.get("yes")), ("no", o.get("no"))]
        if self.kind == "random_split":
            return [(f"branch_{n}", b.get("next")) for n, b in enumerate(o["branches"])]
        if self.kind == "exit":
            return []
        return [("next", o.get("next"))]

    @property
    def waits(self) -> bool:
        return self.kind in ("wait", "wait_for_event")


@dataclass(frozen=True)
class Definition:
    entries: tuple[Mapping[str, Any], ...]
    re_entry: str
    re_entry_days: int
    holdout_percent: int
    goal_event: str | None
    exit_events: tuple[str, ...]
    stay_while: Mapping[str, Any] | None
    start: str
    steps: Mapping[str, Step] = field(default_factory=dict)

    def entry_events(self) -> list[str]:
        return [e["event"] for e in self.entries if e["kind"] == "event"]

    def entry_segments(self) -> list[Mapping[str, Any]]:
        return [e for e in self.entries if e["kind"] == "segment"]


def _fail(path: str, message: str) -> JourneyInvalid:
    return JourneyInvalid(f"{path}: {message}", field=path)


def _whole(value: Any, path: str, *, low: int = 0, high: int = MAX_WAIT_DAYS * 24 * 60) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(path, f"should be a whole number from {low} to {high}, not {value!r}")
    return value


def _event_name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _EVENT.match(value):
        raise _fail(path, f"{value!r} is not an event name; use one of {', '.join(HAPPENINGS)} or the name your "
                          "system sends to POST /api/v1/events (letters, digits, _ . : -)")
    return value


def _rules(value: Any, path: str) -> dict[str, Any]:
    try:
        segment_where(value, today=date(2000, 1, 1))  # compiles the tree: the same check a segment gets
    except Invalid as exc:
        raise _fail(path, exc.message) from None
    return value


def _step_ref(value: Any, path: str, keys: Mapping[str, Any]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in keys:
        raise _fail(path, f"{value!r} names no step of this journey; steps: {', '.join(sorted(keys))}")
    return value


def duration(options: Mapping[str, Any], path: str) -> timedelta:
    """{days, hours, minutes} -> timedelta (each optional, whole, not negative)."""
    return timedelta(days=_whole(options.get("days", 0), f"{path}.days", high=MAX_WAIT_DAYS),
                     hours=_whole(options.get("hours", 0), f"{path}.hours", high=MAX_WAIT_DAYS * 24),
                     minutes=_whole(options.get("minutes", 0), f"{path}.minutes"))


def _check_step(key: str, raw: Any, keys: Mapping[str, Any]) -> Step:
    path = f"definition.steps.{key}"
    if not _KEY.match(key):
        raise _fail(path, "a step key is 1 to 40 of a-z, 0-9 and _")
    if not isinstance(raw, dict) or raw.get("kind") not in STEP_KINDS:
        raise _fail(f"{path}.kind", f"should be one of {', '.join(STEP_KINDS)}")
    kind, o = raw["kind"], dict(raw)
    for ref in ("next", "happened", "timed_out", "yes", "no"):
        if ref in o:
            _step_ref(o[ref], f"{path}.{ref}", keys)
    if kind == "send":
        if o.get("channel") not in ("sms", "email"):
            raise _fail(f"{path}.channel", "should be sms or email")
        _whole(o.get("template_id"), f"{path}.template_id", low=1, high=2**63 - 1)
        if o.get("email_template_id") is not None:
            if o["channel"] != "sms":
                raise _fail(f"{path}.email_template_id", "only an SMS step can fall back to email")
            _whole(o["email_template_id"], f"{path}.email_template_id", low=1, high=2**63 - 1)
    elif kind == "wait":
        duration(o, path)
        if o.get("at") is not None:
            if not isinstance(o["at"], str):
                raise _fail(f"{path}.at", 'should be a time of day such as "09:00"')
            parse_time_of_day(o["at"], field=f"{path}.at")
        weekdays = o.get("weekdays")
        if weekdays is not None and (not isinstance(weekdays, list) or not weekdays
                                     or any(_whole(d, f"{path}.weekdays", high=6) is None for d in weekdays)):
            raise _fail(f"{path}.weekdays", "should be a list of days, 0 (Monday) to 6 (Sunday)")
        if weekdays is not None and o.get("at") is None:
            raise _fail(f"{path}.weekdays", "weekdays need a time of day (at)")
    elif kind == "wait_for_event":
        _event_name(o.get("event"), f"{path}.event")
        if not isinstance(o.get("timeout"), dict) or duration(o["timeout"], f"{path}.timeout") <= timedelta(0):
            raise _fail(f"{path}.timeout", 'a wait for an event needs a timeout, e.g. {"days": 7}')
    elif kind == "condition":
        _rules(o.get("rules"), f"{path}.rules")
    elif kind == "random_split":
        branches = o.get("branches")
        if not isinstance(branches, list) or not 2 <= len(branches) <= 10:
            raise _fail(f"{path}.branches", "a random split has 2 to 10 branches")
        for n, branch in enumerate(branches):
            if not isinstance(branch, dict):
                raise _fail(f"{path}.branches[{n}]", 'should be {"weight": 50, "next": "<step>"}')
            _whole(branch.get("weight"), f"{path}.branches[{n}].weight", low=1, high=100)
            _step_ref(branch.get("next"), f"{path}.branches[{n}].next", keys)
    elif kind == "update_contact":
        _check_update(o, path)
    return Step(key, kind, o)


def _check_update(o: Mapping[str, Any], path: str) -> None:
    for name in ("add_tags", "remove_tags"):
        tags = o.get(name, [])
        if not isinstance(tags, list) or any(not isinstance(t, str) or not t.strip() for t in tags):
            raise _fail(f"{path}.{name}", "should be a list of tag names")
    for name in ("add_to_lists", "remove_from_lists"):
        for n, list_id in enumerate(o.get(name, []) if isinstance(o.get(name, []), list) else [None]):
            _whole(list_id, f"{path}.{name}[{n}]", low=1, high=2**63 - 1)
    fields = o.get("set_fields", {})
    if not isinstance(fields, dict) or set(fields) - set(SETTABLE_FIELDS):
        raise _fail(f"{path}.set_fields", f"may set {', '.join(SETTABLE_FIELDS)}")
    if not any(o.get(n) for n in ("add_tags", "remove_tags", "add_to_lists", "remove_from_lists", "set_fields")):
        raise _fail(path, "an update step needs something to change (a tag, a list or a field)")


def parse_definition(raw: Any) -> Definition:
    """Check a definition's shape and references; raises JourneyInvalid naming the path and the fix.

    Templates, lists and saved segments are checked against the database by checks.check_references."""
    if not isinstance(raw, dict):
        raise _fail("definition", "should be a JSON object with entry, start and steps")
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, dict) or not steps_raw:
        raise _fail("definition.steps", "a journey needs at least one step")
    if len(steps_raw) > MAX_STEPS:
        raise _fail("definition.steps", f"a journey has at most {MAX_STEPS} steps")
    steps = {key: _check_step(key, value, steps_raw) for key, value in steps_raw.items()}
    start = raw.get("start")
    if start not in steps:
        raise _fail("definition.start", f"{start!r} names no step; steps: {', '.join(sorted(steps))}")
    entries = _check_entries(raw.get("entry"))
    unknown = sorted(set(raw) - {"entry", "re_entry", "holdout_percent", "goal", "exit", "start", "steps"})
    if unknown:
        raise _fail(f"definition.{unknown[0]}", "is not part of a journey's definition")
    re_entry = raw.get("re_entry") or {"policy": "once"}
    policy = re_entry.get("policy") if isinstance(re_entry, dict) else None
    if policy not in RE_ENTRY_POLICIES:
        raise _fail("definition.re_entry.policy", f"should be one of {', '.join(RE_ENTRY_POLICIES)}")
    days = _whole(re_entry.get("days"), "definition.re_entry.days", low=1, high=MAX_WAIT_DAYS) \
        if policy == "after_days" else 0
    if policy == "every_time" and any(e["kind"] == "segment" for e in entries):
        # A contact keeps matching a segment: "every time" would start them again as soon as they finish.
        raise _fail("definition.re_entry.policy", "every_time needs event entries only; for a segment use "
                                                  'after_days, e.g. {"policy": "after_days", "days": 30}')
    goal = raw.get("goal")
    if goal is not None and not isinstance(goal, dict):
        raise _fail("definition.goal", 'should be an object such as {"event": "purchased"}, or null')
    goal_event = _event_name(goal.get("event"), "definition.goal.event") if goal else None
    exit_raw = raw.get("exit") or {}
    if not isinstance(exit_raw, dict) or not isinstance(exit_raw.get("events", []), list):
        raise _fail("definition.exit", 'should be an object such as {"events": ["unsubscribed"]}')
    exit_events = tuple(_event_name(e, f"definition.exit.events[{n}]")
                        for n, e in enumerate(exit_raw.get("events", [])))
    stay_while = _rules(exit_raw["stay_while"], "definition.exit.stay_while") if exit_raw.get("stay_while") else None
    definition = Definition(entries=tuple(entries), re_entry=policy, re_entry_days=days,
                            holdout_percent=_whole(raw.get("holdout_percent", 0), "definition.holdout_percent",
                                                   high=90),
                            goal_event=goal_event, exit_events=exit_events, stay_while=stay_while, start=start,
                            steps=steps)
    _check_graph(definition)
    return definition


def _check_entries(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise _fail("definition.entry", 'a journey needs an entry, e.g. [{"kind": "event", "event": "signed_up"}]')
    entries = []
    for n, entry in enumerate(raw):
        path = f"definition.entry[{n}]"
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "event":
            entries.append({"kind": "event", "event": _event_name(entry.get("event"), f"{path}.event")})
        elif kind == "segment" and entry.get("segment_id") is not None:
            entries.append({"kind": "segment",
                            "segment_id": _whole(entry["segment_id"], f"{path}.segment_id", low=1, high=2**63 - 1)})
        elif kind == "segment":
            entries.append({"kind": "segment", "rules": _rules(entry.get("rules"), f"{path}.rules")})
        else:
            # A date-rule occasion (birthday, renewal) is not an entry yet: a birthday journey enters on a
            # segment with birthday_within_days 0 and re-enters after_days 365 meanwhile.
            raise _fail(f"{path}.kind", "should be segment (segment_id or rules) or event")
    return entries


def _check_graph(definition: Definition) -> None:
    """Every step reachable from the start; no loop that passes no wait (it would spin within one pass)."""
    steps = definition.steps
    seen, todo = set(), [definition.start]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        todo.extend(k for _, k in steps[key].exits() if k is not None)
    if unreachable := sorted(set(steps) - seen):
        raise _fail(f"definition.steps.{unreachable[0]}",
                    f"no path from the start reaches {', '.join(unreachable)}; link it or delete it")
    state: dict[str, int] = {}  # 1 = on the path being followed, 2 = done

    def visit(key: str) -> None:
        state[key] = 1
        for _, nxt in steps[key].exits():
            if nxt is None or steps[nxt].waits:
                continue
            if state.get(nxt) == 1:
                raise _fail(f"definition.steps.{nxt}", "this loop has no wait step, so a contact would go round it "
                                                       "without pause; put a wait in the loop")
            if nxt not in state:
                visit(nxt)
        state[key] = 2

    for key in steps:
        if key not in state and not steps[key].waits:
            visit(key)
