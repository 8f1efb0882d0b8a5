"""Domain errors every package raises; web/errors.py maps each kind once (4xx JSON, or a flash message)."""

from __future__ import annotations


class HeraldError(Exception):
    """Base of the errors a user can cause. The message names the thing, the value and the fix."""

    http_status = 400

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the form/API field at fault, when there is one
        self.line = line  # the template or file line at fault, when there is one

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"error": type(self).__name__, "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.line:
            out["line"] = self.line
        return out


class NotFound(HeraldError):
    http_status = 404


class Invalid(HeraldError):
    """Input that cannot be accepted as given."""

    http_status = 422


class Conflict(HeraldError):
    """The request clashes with the current state (e.g. sending a campaign that already ran)."""

    http_status = 409
