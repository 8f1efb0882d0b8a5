"""Segments: a JSON rule tree over contacts, checked, and compiled to one SQL WHERE clause.

rules.py says what a tree may contain (fields, operators, depth and size limits) and checks it;
to_sql.py compiles a checked tree to SQL;
fields.py adds the conditions on tags, RFM scores, custom fields and important dates;
json_sql.py spells JSON tests the way SQLite and PostgreSQL each need; saved.py stores segments and
answers the editor's questions (count, preview, sample, explain); values.py lists the values a free-text
field holds, so the editor can offer them (上海 and 上海市 side by side).

This __init__ is the sub-package's surface. segments/ reads only audiences.models: contacts/,
imports/ and queries.py build on it, never the reverse (import-linter checks). Other packages add
conditions with register_condition (campaigns/segment_conditions.py: received, clicked, bought).
"""

from audiences.segments.rules import (
    MAX_DAYS,
    Condition,
    ConditionKind,
    SegmentRuleInvalid,
    register_condition,
)
from audiences.segments.saved import (
    SegmentPreview,
    count_segment,
    create_segment,
    explain_segment,
    get_segment,
    list_segments,
    preview_segment,
    sample_segment,
    segment_select,
    segment_where,
    update_segment,
)
from audiences.segments.values import VALUE_FIELDS, FieldValue, field_values

__all__ = [
    "MAX_DAYS",
    "VALUE_FIELDS",
    "Condition",
    "ConditionKind",
    "FieldValue",
    "SegmentPreview",
    "SegmentRuleInvalid",
    "count_segment",
    "create_segment",
    "explain_segment",
    "field_values",
    "get_segment",
    "list_segments",
    "preview_segment",
    "register_condition",
    "sample_segment",
    "segment_select",
    "segment_where",
    "update_segment",
]
