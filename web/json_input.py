"""JSON a user sent (an API body, the segment editor's rules): parsed with bounds on nesting and numbers.

Python's JSON parser recurses once per level, so a body of 100,000 "[" raises RecursionError (a 500),
and it reads any integer exactly, so a 33-digit number reaches the database driver, which cannot
bind it (OverflowError, another 500). Both are refused here, naming where, before any view sees them.
"""

from __future__ import annotations

import json
import math
from typing import Any

from core.errors import Invalid

MAX_DEPTH = 32  # Herald's deepest documented body (segment rules, 8 groups deep) stays well inside
LARGEST_INTEGER = 2**63 - 1  # a signed 64-bit column, the widest any database here stores


class JsonRefused(Invalid):
    """JSON that is well-formed but nested too deeply or holding a number no column can store."""

    http_status = 400


def parse_json(text: str | bytes, *, what: str) -> Any:
    """`text` parsed and checked by check_json. Raises ValueError for text that is not JSON, JsonRefused
    for JSON past the bounds; `what` names the input in messages ("the request body", "rules")."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonRefused(f"{what} nests deeper than {MAX_DEPTH} levels — flatten it") from None
    check_json(value, what=what)
    return value


def check_json(value: Any, *, what: str) -> None:
    """Raise JsonRefused for nesting past MAX_DEPTH or a number outside a 64-bit integer or float."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:  # a loop, not recursion: the point is to survive what recursion cannot
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise JsonRefused(f"{what} nests deeper than {MAX_DEPTH} levels (at {path or 'the top'}) — flatten it",
                              field=_field(path))
        if isinstance(node, dict):
            stack.extend((item, f"{path}.{key}" if path else str(key), depth + 1) for key, item in node.items())
        elif isinstance(node, list):
            stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(node))
        elif isinstance(node, bool):
            continue
        elif isinstance(node, int) and abs(node) > LARGEST_INTEGER:
            raise JsonRefused(f"{path or what} is {len(str(abs(node)))} digits long, larger than any value Herald "
                              f"stores (at most {LARGEST_INTEGER})", field=_field(path))
        elif isinstance(node, float) and not math.isfinite(node):
            raise JsonRefused(f"{path or what} is {node}, not a finite number", field=_field(path))


def _field(path: str) -> str | None:
    return path.split(".")[0].split("[")[0] or None
