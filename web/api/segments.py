"""/api/v1/segments: saved rule trees, and the live count + sample + explanation the editor asks for."""

from __future__ import annotations

from typing import Any

import audiences
from core.errors import Invalid
from web.api import bp, iso, json_body, now, optional_int, reject_unknown, required_str, token_required
from web.api.contacts import contact_json
from web.db import get_session

DEFAULT_SAMPLE = 10


def segment_json(segment: audiences.Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "name": segment.name,
        "rules": segment.rules,
        "created_at": iso(segment.created_at),
        "updated_at": iso(segment.updated_at),
    }


def _rules(data: dict[str, Any], *, required: bool) -> Any:
    """The rule tree as sent; its shape is checked (with the rule's path) by audiences, not here."""
    if "rules" not in data:
        if required:
            raise Invalid('rules is required: a rule tree such as {"all": [{"field": "country", "op": "eq", '
                          '"value": "CN"}]}', field="rules")
        return None
    return data["rules"]


def _today():
    # Segments are evaluated for the day of the request's clock (UTC), as at send time.
    return now().date()


@bp.get("/segments")
@token_required("read")
def list_segments():
    return {"items": [segment_json(s) for s in audiences.list_segments(get_session())]}


@bp.post("/segments")
@token_required("write")
def create_segment():
    data = json_body()
    reject_unknown(data, ("name", "rules"))
    segment = audiences.create_segment(get_session(), name=required_str(data, "name"),
                                       rules=_rules(data, required=True), now=now())
    return segment_json(segment), 201


@bp.get("/segments/<int:segment_id>")
@token_required("read")
def get_segment(segment_id: int):
    return segment_json(audiences.get_segment(get_session(), segment_id))


@bp.put("/segments/<int:segment_id>")
@token_required("write")
def update_segment(segment_id: int):
    data = json_body()
    reject_unknown(data, ("name", "rules"))
    name = required_str(data, "name") if "name" in data else None
    segment = audiences.update_segment(get_session(), segment_id, name=name, rules=_rules(data, required=False),
                                       now=now())
    return segment_json(segment)


@bp.post("/segments/count")
@token_required("read")
def count_segment():
    """Count unsaved rules: the number, a sample of contacts and, per top-level rule, what it keeps and removes."""
    data = json_body()
    reject_unknown(data, ("rules", "sample_size"))
    sample_size = optional_int(data, "sample_size")
    if sample_size is not None and not 0 <= sample_size <= 100:
        raise Invalid(f"sample_size {sample_size} is out of range — use 0 to 100", field="sample_size")
    preview = audiences.preview_segment(get_session(), _rules(data, required=True), today=_today(),
                                        sample_size=DEFAULT_SAMPLE if sample_size is None else sample_size)
    return {"count": preview.count, "sample": [contact_json(c) for c in preview.sample], "explain": preview.explain}
