"""What a pre-send check found: one Finding per thing to look at, with a level that says how much it matters.

The checks are advice, never a refusal: an event notice may leave out the opt-out wording a marketing
message needs. `error` is what will break for recipients (a link they cannot open, an email Gmail clips
before its unsubscribe link), `warning` what a marketer should fix before a marketing send (no opt-out,
an ALL CAPS subject), `note` what is good to know (segments and cost). A message passes when it has no
error and no warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["error", "warning", "note"]
LEVELS: tuple[Level, ...] = ("error", "warning", "note")


@dataclass(frozen=True)
class Finding:
    """One thing a check found. `check` names the check (links, images, gsm7, …), `code` the finding (the
    page translates it with `values`), `message` says it in English for the API and the logs: the thing,
    the value and the fix."""

    check: str
    level: Level
    code: str
    message: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "level": self.level, "code": self.code, "message": self.message,
                "values": dict(self.values)}


def passes(findings: Iterable[Finding]) -> bool:
    """Whether a message passes its checks: no error and no warning (notes are information)."""
    return not any(f.level in ("error", "warning") for f in findings)


def by_level(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then notes; in the order found within a level."""
    return sorted(findings, key=lambda f: LEVELS.index(f.level))
