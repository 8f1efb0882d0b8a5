"""Checking import rows: cells -> validated contact fields, custom fields, tags; in worker processes for big files.

Validation is most of an import's cost (a phone number through phonenumbers is ~40 µs, an email
through email_validator ~30 µs), and it is pure: the same cells always give the same row or the
same reason. So past PARALLEL_AFTER rows, batches of rows are checked in worker processes while the
main process reads the file and writes to the database; results come back in file order, so line
numbers, error files and "first row wins" dedupe are the same as with one process.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from audiences.contacts import (
    check_tag_name,
    check_value,
    clean_fields,
    normalise_email,
    phone_and_country,
    require_address,
)
from audiences.imports.mapping import ColumnPlan
from audiences.models import CustomField
from core.errors import Invalid

# What a row with a bad email or phone (a channel address) does: "drop-field" lands the row without that
# address and warns; "reject-row" rejects the whole row. A CRM export's one mistyped mobile should not
# cost the contact whose email is good, so dropping the field is the default.
ADDRESS_POLICIES = ("drop-field", "reject-row")
ADDRESS_FIELDS = ("email", "phone")
PARALLEL_AFTER = 20_000  # rows checked in-process first: small files never pay for starting workers
BATCH_ROWS = 1000
MAX_WORKERS = 4
# Characters that make a spreadsheet run a cell as a formula (CSV injection); exports neutralise them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# A tags cell lists names separated the way people type them in English and Chinese spreadsheets.
_TAG_SEPARATORS = re.compile(r"[,;，；、|]")
# An address email_validator accepts exactly as written (ASCII dot-atom local part): only its domain needs
# the validator, and a file holds few domains, so each is checked once (see _email).
_SIMPLE_EMAIL = re.compile(r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@([^@\s]+)")


@dataclass(frozen=True)
class DroppedField:
    """A channel address of a good row that was not imported, with why (the row landed without it)."""

    field: str  # "email" | "phone"
    value: str  # as the file had it
    reason: str


@dataclass
class GoodRow:
    line: int
    fields: dict[str, Any]
    attributes: dict[str, Any]
    tags: frozenset[str] = frozenset()
    dropped: tuple[DroppedField, ...] = ()
    country: str | None = None  # the phone's country: the contact's country when it has none


@dataclass(frozen=True)
class Bad:
    line: int
    reason: str


@dataclass
class RowCheck:
    """Everything needed to check a row, picklable so worker processes get their own copy."""

    plan: ColumnPlan
    region: str
    custom_fields: list[tuple[str, str, str, list[str]]] = field(default_factory=list)  # key, label, type, choices
    on_bad_address: str = "drop-field"  # one of ADDRESS_POLICIES

    def __post_init__(self) -> None:
        self._defined = {key: CustomField(key=key, label=label, type=type_, choices=choices)
                         for key, label, type_, choices in self.custom_fields}

    def __getstate__(self) -> dict[str, Any]:
        return {"plan": self.plan, "region": self.region, "custom_fields": self.custom_fields,
                "on_bad_address": self.on_bad_address}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def row(self, cells: list[str], line: int) -> GoodRow:
        """The checked row. Raises Invalid listing every bad cell, so a row is fixed in one go."""
        plan = self.plan
        if any("\ufffd" in cell for cell in cells):
            raise Invalid("the row holds characters that could not be decoded — save the file as CSV UTF-8 (or "
                          "choose its encoding, e.g. GBK) and import again")
        errors: list[str] = []
        values = {name: cell(cells, i) for name, i in plan.fields.items()}
        fields: dict[str, Any] = {}
        email, phone = values.pop("email", ""), values.pop("phone", "")
        try:
            fields = clean_fields(values, default_region=self.region, labels=plan.labels)
        except Invalid as exc:
            errors.append(exc.message)
        dropped: list[DroppedField] = []
        if email:
            try:
                fields["email"] = _email(email, plan.labels.get("email", "email"))
            except Invalid as exc:
                dropped.append(DroppedField("email", email, exc.message))
        country = None
        if phone:
            try:
                fields["phone"], country = phone_and_country(phone, region=self.region,
                                                             label=plan.labels.get("phone", "phone"))
            except Invalid as exc:
                dropped.append(DroppedField("phone", phone, exc.message))
        attributes: dict[str, Any] = {}
        for name, i in plan.attributes.items():
            raw = cell(cells, i)
            if not raw:
                continue
            definition = self._defined.get(name)
            try:
                # Custom fields defined in Settings are stored typed (a number as a number); others as text.
                value = check_value(definition, raw) if definition is not None else raw
            except Invalid as exc:
                errors.append(exc.message)
                continue
            if value is not None:
                attributes[name] = value
        tags: set[str] = set()
        if plan.tags is not None:
            for name in _TAG_SEPARATORS.split(cell(cells, plan.tags)):
                if name.strip():
                    try:
                        tags.add(check_tag_name(name))
                    except Invalid as exc:
                        errors.append(exc.message)
        if errors or (dropped and self.on_bad_address == "reject-row"):
            raise Invalid("; ".join([d.reason for d in dropped] + errors))
        if not fields.get("external_id"):
            # With an external id the row may update a contact that has an address; checked once matched.
            self.require_address(fields, dropped)
        return GoodRow(line=line, fields=fields, attributes=attributes, tags=frozenset(tags), dropped=tuple(dropped),
                       country=country)

    def require_address(self, fields: dict[str, Any], dropped: tuple[DroppedField, ...] | list[DroppedField] = ()
                        ) -> None:
        """Raises Invalid for a row nobody could be messaged at; when its only address was bad, naming that one."""
        try:
            require_address(fields, email_label=self.plan.labels.get("email", "email"),
                            phone_label=self.plan.labels.get("phone", "phone"))
        except Invalid:
            if not dropped:
                raise
            raise Invalid("; ".join(d.reason for d in dropped)) from None

    def batch(self, rows: list[tuple[int, list[str]]]) -> list[GoodRow | Bad]:
        out: list[GoodRow | Bad] = []
        for line, cells in rows:
            try:
                out.append(self.row(cells, line))
            except Invalid as exc:
                out.append(Bad(line, exc.message))
        return out


def cell(cells: list[str], index: int) -> str:
    value = cells[index].strip() if index < len(cells) else ""
    # Excel writes ="00123" to keep leading zeros; the value is what is inside the quotes.
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        value = value[2:-1].strip()
    # Exports (Herald's, importer.neutralise, and other careful ones) put an apostrophe before a cell that
    # would start a formula: "'-5", "'+8613800138000". The value is what follows, so an export imports back.
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        value = value[1:]
    return value


def _email(value: str, label: str) -> str:
    """normalise_email, with the validator run once per domain for plain ASCII addresses (same result)."""
    match = _SIMPLE_EMAIL.fullmatch(value)
    if match is None or len(match[1]) > 64 or len(value) > 254:
        return normalise_email(value, label=label)
    domain = _domain(match[2])
    if domain is None:
        return normalise_email(value, label=label)  # raises, with the validator's own words
    return f"{match[1]}@{domain}".lower()


@lru_cache(maxsize=8192)
def _domain(domain: str) -> str | None:
    try:
        return normalise_email("x@" + domain).partition("@")[2]
    except Invalid:
        return None


# ---------------------------------------------------------------- checking many rows
def _start_worker(check: RowCheck) -> None:
    global _WORKER_CHECK
    _WORKER_CHECK = check


_WORKER_CHECK: RowCheck | None = None


def _check_in_worker(rows: list[tuple[int, list[str]]]) -> list[GoodRow | Bad]:
    assert _WORKER_CHECK is not None
    return _WORKER_CHECK.batch(rows)


def worker_count() -> int:
    """Workers for a big import: one per core, at most MAX_WORKERS; none on a single core.

    Not "the cores but one": checking is about two thirds of the CPU an import costs (profiled), and the
    main process mostly waits on the database, so a worker per core keeps every core checking. (Timed
    on the shared 2-core box, one and two workers were within its noise: 29–84 s vs 36–58 s at 60,000
    rows.) Workers start with "spawn": a script that imports contacts must guard its code with
    `if __name__ == "__main__":`, as the `herald` command and gunicorn do.
    """
    cores = os.cpu_count() or 1
    return min(MAX_WORKERS, cores) if cores > 1 else 0


def check_rows(raw: Iterator[tuple[int, list[str]]], check: RowCheck, *, workers: int,
               parallel_after: int = PARALLEL_AFTER) -> Iterator[tuple[GoodRow | Bad, list[str]]]:
    """Each row of `raw` checked, with its cells, in file order. After `parallel_after` rows, `workers`
    processes share the work (none with workers=0)."""
    seen = 0
    for line, cells in raw:
        try:
            yield check.row(cells, line), cells
        except Invalid as exc:
            yield Bad(line, exc.message), cells
        seen += 1
        if workers > 0 and seen >= parallel_after:
            break
    else:
        return
    following = next(raw, None)
    if following is None:
        return  # the file ended right at the threshold: no workers to start
    # "spawn", not fork: the import may run in a web server's thread, and a forked child of a threaded
    # process can inherit a held lock. Workers import audiences once, then take batches.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(check,)) as pool:
        pending: deque[tuple[Future[list[GoodRow | Bad]], list[tuple[int, list[str]]]]] = deque()
        batch: list[tuple[int, list[str]]] = [following]
        for item in raw:
            batch.append(item)
            if len(batch) >= BATCH_ROWS:
                pending.append((pool.submit(_check_in_worker, batch), batch))
                batch = []
                # Bounded: a few batches per worker in flight, so a fast reader cannot fill memory.
                while len(pending) >= 3 * workers:
                    yield from _results(pending.popleft())
        if batch:
            pending.append((pool.submit(_check_in_worker, batch), batch))
        while pending:
            yield from _results(pending.popleft())


def _results(done: tuple[Future[list[GoodRow | Bad]], list[tuple[int, list[str]]]]
             ) -> Iterator[tuple[GoodRow | Bad, list[str]]]:
    future, batch = done
    for result, (_line, cells) in zip(future.result(), batch, strict=True):
        yield result, cells
