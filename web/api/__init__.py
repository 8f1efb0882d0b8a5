"""The JSON API under /api/v1: bearer-token auth and the input parsing every endpoint shares.

Each area's routes live in their own module (contacts, lists, segments, templates, campaigns) and call the
same domain functions the pages call; openapi.py describes them all. Domain errors become
`{error, message, field?, line?}` with their HTTP status in web/errors.py; the errors raised here
(bad JSON, a missing or mistyped field) are HeraldErrors too, so they take the same path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from channels import ChannelConfigError
from core.config import Config
from core.errors import HeraldError, Invalid
from core.users import User, find_user_by_token
from web.db import get_session
from web.json_input import LARGEST_INTEGER, parse_json

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 500  # one response stays small enough to build and parse quickly
DEFAULT_PER_PAGE = 50

F = TypeVar("F", bound=Callable[..., Any])


class MalformedRequest(HeraldError):
    """The body is not the JSON object the endpoint takes."""

    http_status = 400


# ---------------------------------------------------------------- auth
def token_required(action: str = "read") -> Callable[[F], F]:
    """Let the request through only with `Authorization: Bearer <token>` of a user who may `action`.

    `action` is "read" or "write" (core.users.User.can). Without a token or with an unknown one the
    answer is 401 with `WWW-Authenticate: Bearer`; an analyst's token on a write is 403. The user is
    `g.api_user` inside the view. A logged-in browser's cookie is deliberately not enough: the API is
    exempt from CSRF, so accepting the cookie would let any other site post here as that user.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return _refuse(401, "this endpoint needs an API token: send `Authorization: Bearer <token>`; "
                                    "get one with `herald user token EMAIL`")
            user = find_user_by_token(get_session(), token.strip())
            if user is None:
                return _refuse(401, "the API token is not valid (it may have been replaced by a newer one) — "
                                    "issue a new one with `herald user token EMAIL`", bearer_error="invalid_token")
            if not user.can(action):
                return _refuse(403, f"user {user.email} has the {user.role} role, which may not {action} here — "
                                    "ask an admin for the marketer role")
            g.api_user = user
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def _refuse(status: int, message: str, *, bearer_error: str = "") -> Response:
    response = jsonify({"error": "Unauthorized" if status == 401 else "Forbidden", "message": message})
    response.status_code = status
    if status == 401:
        # RFC 6750 §3: no error code when no token was sent, invalid_token when it was wrong.
        response.headers["WWW-Authenticate"] = 'Bearer realm="herald"' + (
            f', error="{bearer_error}"' if bearer_error else "")
    return response


def api_user() -> User:
    """The user whose token authenticated this request (set by token_required)."""
    return g.api_user


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """Werkzeug's own errors inside an API view (413, a broken multipart body…) answer in JSON too."""
    return jsonify({"error": type(exc).__name__, "message": exc.description}), exc.code or 500


@bp.app_errorhandler(MethodNotAllowed)
def _method_not_allowed(exc: MethodNotAllowed):
    """A wrong method is decided at routing, before any blueprint: answer JSON for the API and webhooks here."""
    if not request.path.startswith(("/api/", "/webhooks/")):
        return exc
    allowed = ", ".join(sorted(m for m in exc.valid_methods or () if m not in ("HEAD", "OPTIONS")))
    response = jsonify({"error": "MethodNotAllowed",
                        "message": f"{request.method} is not allowed on {request.path}; use {allowed}"})
    response.status_code = 405
    response.headers["Allow"] = ", ".join(exc.valid_methods or ())
    return response


@bp.errorhandler(ChannelConfigError)
def _channel_unusable(exc: ChannelConfigError):
    """A channel URL in config.toml is wrong: the operator must fix it, the request was fine (503)."""
    return jsonify({"error": "ChannelConfigError", "message": str(exc)}), 503


# ---------------------------------------------------------------- context
def config() -> Config:
    return current_app.extensions["herald.config"]


def now() -> datetime:
    """The request's time from the app's clock (create_app(clock=…); tests give a FrozenClock)."""
    return current_app.extensions["herald.clock"].now()


# ---------------------------------------------------------------- input
def json_body() -> dict[str, Any]:
    """The request's JSON object. Raises MalformedRequest (400) for anything else."""
    if not request.is_json:
        raise MalformedRequest(f"send a JSON object with Content-Type: application/json (got "
                               f"{request.mimetype or 'no content type'})")
    try:
        data = parse_json(request.get_data(), what="the request body")
    except (ValueError, UnicodeDecodeError):
        raise MalformedRequest("the request body is not valid JSON — check quotes and commas") from None
    if not isinstance(data, dict):
        raise MalformedRequest(f"the request body is a JSON {type(data).__name__}; send a JSON object")
    return data


def reject_unknown(data: Mapping[str, Any], known: Iterable[str]) -> None:
    """A misspelt field must not be dropped silently: name it and list the known ones."""
    known = list(known)
    for key in data:
        if key not in known:
            raise Invalid(f'"{key}" is not a field here; known fields: {", ".join(known)}', field=key)


def required_str(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid(f"{name} is required", field=name)
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string, not {_json_type(value)}", field=name)
    return value


def optional_str(data: Mapping[str, Any], name: str, default: str = "") -> str:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string, not {_json_type(value)}", field=name)
    return value


def optional_int(data: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(f"{name} is required", field=name)
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) <= LARGEST_INTEGER:
        value = int(value)  # JSON has one number type: 42.0 is the integer 42 (JSON Schema agrees)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name} must be an integer id, not {_json_type(value)}", field=name)
    return value


def query_int(name: str, default: int | None, *, minimum: int = 1, maximum: int = LARGEST_INTEGER) -> int | None:
    """An integer query parameter within bounds (at most a 64-bit id unless said); Invalid (422) naming it
    otherwise."""
    if name not in request.args:
        return default
    raw = request.args[name].strip()  # present but empty is refused: `?year=` is not a year
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f'{name} "{raw}" is not a whole number', field=name) from None
    if not minimum <= value <= maximum:
        bounds = f"{minimum} to {maximum}"
        raise Invalid(f"{name} {value} is out of range — use {bounds}", field=name)
    return value


def pagination() -> tuple[int, int]:
    page = query_int("page", 1) or 1
    per_page = query_int("per_page", DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE) or DEFAULT_PER_PAGE
    return page, per_page


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- output
def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


# Routes register themselves on `bp` when their modules are imported.
from web.api import (  # noqa: E402, F401
    campaign_controls,
    campaign_tracking,
    campaigns,
    contact_settings,
    contacts,
    conversions,
    events,
    exports,
    inbox,
    journeys,
    lists,
    openapi,
    schedules,
    segments,
    templates,
)
