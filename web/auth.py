"""Who is asking: first-run setup, login/logout, bearer tokens for the API, roles, CSRF.

Pages: every blueprint passed to protect() requires a logged-in user; analysts (read-only) are
refused on every POST; protect(bp, role="admin") keeps a blueprint to admins.
The API (web/api) authenticates with `Authorization: Bearer <token>` through the request loader
here and exempts itself from CSRF with `csrf.exempt(bp)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from core.login_sessions import LOGIN_DAYS, end_login_session, login_session_is_live, start_login_session
from core.users import (
    User,
    UserError,
    authenticate,
    count_users,
    create_first_admin,
    find_user_by_token,
    log_out_everywhere,
)
from web.db import get_session
from web.errors import wants_json
from web.login_throttle import LoginThrottle
from web.redirects import same_site_path

csrf = CSRFProtect()
login_manager = LoginManager()
bp = Blueprint("auth", __name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_page_blueprints: set[str] = set()
_read_only_views: set[Callable[..., Any]] = set()
_approval_views: set[Callable[..., Any]] = set()


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    app.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    # Flask-Login's default is a year; a login row lives LOGIN_DAYS, so the cookie cannot outlive it.
    app.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=LOGIN_DAYS))
    app.before_request(_first_run_goes_to_setup)
    app.after_request(_page_security_headers)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_blueprint(bp)


# ---------------------------------------------------------------- loading the user
@login_manager.user_loader
def _load_user(login_id: str) -> User | None:
    """The user of a session or remember-me cookie ("<user id>:<login token>", User.get_id), while that
    login is live: a cookie from before logout, a password or role change or deactivation is refused."""
    user_id, _sep, token = login_id.partition(":")
    try:
        user = get_session().get(User, int(user_id))
    except ValueError:
        return None
    if user is None or not user.is_active or not login_session_is_live(get_session(), user.id, token, now=_now()):
        return None
    user.login_token = token
    return user


@login_manager.request_loader
def _load_user_from_bearer(req) -> User | None:
    """`Authorization: Bearer <token>` for API clients; only the token's hash is stored (core.users)."""
    scheme, _sep, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return find_user_by_token(get_session(), token.strip())


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        return jsonify(error="Unauthorized",
                       message="log in, or send an API token as `Authorization: Bearer <token>`"), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


# ---------------------------------------------------------------- guarding pages
def protect(blueprint: Blueprint, *, role: str = "read") -> Blueprint:
    """Require a logged-in user for every view of `blueprint`; `role="admin"` keeps it to admins.

    Whatever the role, a POST from a user who may not write (an analyst) is refused, unless the
    view is marked @read_only (it changes nothing, e.g. a preview).
    """
    _page_blueprints.add(blueprint.name)

    def guard():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.can(role):
            return forbidden(_("This page is for administrators. Ask an admin if you need access."))
        view = current_app.view_functions.get(request.endpoint or "")
        if view in _approval_views:
            # An approver changes nothing but a campaign's approval; a marketer may write but not approve,
            # and must be refused here, not sent back with a flash by the domain check.
            if current_user.can("approve"):
                return None
            return forbidden(_("Your role (%(role)s) may not approve or reject campaigns. Ask an admin for the "
                               "approver role.", role=role_label(current_user.role)))
        if request.method not in SAFE_METHODS and view not in _read_only_views and not current_user.can("write"):
            return forbidden(_("Your role (%(role)s) can look but not change anything. Ask an admin for the "
                               "marketer role to make changes.", role=role_label(current_user.role)))
        return None

    blueprint.before_request(guard)
    return blueprint


def read_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST view that changes nothing (a preview), so read-only users may call it."""
    _read_only_views.add(view)
    return view


def approval_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST view that approves or rejects a campaign, so approvers (who may not write) may call it."""
    _approval_views.add(view)
    return view


def forbidden(message: str):
    if wants_json():
        return jsonify(error="Forbidden", message=message), 403
    return render_template("errors/forbidden.html", message=message), 403


def role_label(role: str) -> str:
    return {"admin": _("Admin"), "marketer": _("Marketer"), "analyst": _("Analyst"),
            "approver": _("Approver")}.get(role, role)


def _first_run_goes_to_setup():
    """Until the first admin exists, every page leads to /setup (the API and webhooks are left alone)."""
    if request.blueprint not in _page_blueprints and request.endpoint != "auth.login":
        return None
    if current_app.extensions.get("herald.has_users"):
        return None
    if count_users(get_session()) > 0:
        current_app.extensions["herald.has_users"] = True  # users are never deleted down to none
        return None
    return redirect(url_for("auth.setup"))


# Our pages load nothing from elsewhere; email previews may show remote images and inline styles.
PAGE_CSP = ("default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _page_security_headers(response):
    """Headers for the UI's pages (the API, webhooks and public pages set their own)."""
    if request.blueprint in _page_blueprints or request.blueprint in ("auth", "i18n"):
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _csrf_failed(exc: CSRFError):
    message = _("The form had expired or came from another site, so nothing was changed. "
                "Reload the page and try again.")
    if wants_json():
        return jsonify(error="CSRFError", message=message, detail=exc.description), 400
    return render_template("errors/forbidden.html", message=message, title=_("Form expired")), 400


# ---------------------------------------------------------------- views
@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """First run: create the admin. Once any user exists, this page only leads to the login."""
    db_session = get_session()
    if count_users(db_session) > 0:
        return redirect(url_for("auth.login"))
    form = {"email": request.form.get("email", "").strip(), "name": request.form.get("name", "").strip()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password_again", ""):
            errors["password_again"] = _("The two passwords differ — type the same password twice.")
        else:
            try:
                user = create_first_admin(db_session, email=form["email"], password=password, name=form["name"])
            except UserError as exc:
                errors[_user_error_field(str(exc))] = str(exc)
            else:
                current_app.extensions["herald.has_users"] = True
                _log_in(user, remember=True)
                _adopt_user_locale(user)
                return redirect(url_for("dashboard.index"))
    return render_template("auth/setup.html", form=form, errors=errors), (422 if errors else 200)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next() or url_for("dashboard.index"))
    email = request.form.get("email", "").strip()
    error = None
    if request.method == "POST":
        throttle: LoginThrottle = current_app.extensions["herald.login_throttle"]
        address = request.remote_addr or ""
        wait = throttle.retry_after_seconds(email, address)
        if wait is not None:
            error = _("Too many failed logins for this account or from this address. Try again in %(minutes)s "
                      "minutes, or ask an admin to reset your password.", minutes=max(1, round(wait / 60)))
            return (render_template("auth/login.html", email=email, error=error), 429,
                    {"Retry-After": str(wait)})
        user = authenticate(get_session(), email, request.form.get("password", ""))
        if user is None:
            throttle.record_failure(email, address)
            error = _("That email and password do not match a user. Check both, or ask an admin to reset "
                      "your password.")
        else:
            throttle.forget_account(email)
            _log_in(user, remember=request.form.get("remember") == "on")
            _adopt_user_locale(user)
            return redirect(_safe_next() or url_for("dashboard.index"))
    return render_template("auth/login.html", email=email, error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    """End this login on the server too, so a copy of its session or remember-me cookie stops working."""
    if current_user.is_authenticated:
        end_login_session(get_session(), current_user.login_token or "")
    logout_user()
    return redirect(url_for("auth.login"))


@bp.post("/logout/everywhere")
def logout_everywhere():
    """End every login of this user, on every browser (a lost laptop, a shared computer)."""
    if current_user.is_authenticated:
        log_out_everywhere(get_session(), current_user)
        flash(_("You are logged out on every browser and device."), "success")
    logout_user()
    return redirect(url_for("auth.login"))


def _log_in(user: User, *, remember: bool) -> None:
    """Start a login the server can end (core/login_sessions.py) and put it in the cookies."""
    user.login_token = start_login_session(get_session(), user.id, now=_now())
    login_user(user, remember=remember)


def _now() -> datetime:
    return current_app.extensions["herald.clock"].now()


def _adopt_user_locale(user: User) -> None:
    if user.locale:
        session["locale"] = user.locale


def _safe_next() -> str | None:
    return same_site_path(request.values.get("next"))


def _user_error_field(message: str) -> str:
    """Which setup field a core.users.UserError is about, so the message sits next to it."""
    return "password" if "password" in message else "email"
