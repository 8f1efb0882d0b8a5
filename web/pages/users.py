"""The users page (admins only): who can log in, with which role, and API tokens shown once."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audiences import owned_contact_counts
from core.users import (
    ROLES,
    UserError,
    create_user,
    find_user_by_email,
    get_user,
    issue_api_token,
    list_users,
    set_role,
    set_user_active,
)
from web.auth import role_label
from web.db import get_session

bp = Blueprint("users", __name__)


@bp.get("/users")
def index():
    return _page(form={"role": "marketer"}, errors={})


@bp.post("/users")
def create():
    form = {key: request.form.get(key, "").strip() for key in ("email", "name", "role")}
    try:
        made = create_user(get_session(), email=form["email"], password=request.form.get("password", ""),
                           role=form["role"], name=form["name"])
    except UserError as exc:
        field = "password" if "password" in str(exc) else "role" if "role" in str(exc) else "email"
        return _page(form=form, errors={field: str(exc)}), 422
    flash(_("User %(email)s created. Tell them their password; they can log in now.", email=made.email), "success")
    return redirect(url_for("users.index"), 303)


@bp.post("/users/token")
def token():
    """Issue a new API token and show it this once: only its hash is kept."""
    user = find_user_by_email(get_session(), request.form.get("email", ""))
    if user is None:
        flash(_("There is no user with that email."), "error")
        return redirect(url_for("users.index"), 303)
    page = make_response(render_template("users/token.html", user=user, token=issue_api_token(get_session(), user)))
    page.headers["Cache-Control"] = "no-store"  # shown once: the back button must not bring it back from cache
    return page


@bp.post("/users/<int:user_id>/role")
def change_role(user_id: int):
    """Give a user another role; their logins end, so no open page keeps the old rights."""
    try:
        user = _someone_else(user_id)
        set_role(get_session(), user, request.form.get("role", ""))
    except UserError as exc:
        flash(str(exc), "error")
    else:
        flash(_("%(email)s is now %(role)s and has been logged out everywhere.", email=user.email,
                role=role_label(user.role)), "success")
    return redirect(url_for("users.index"), 303)


@bp.post("/users/<int:user_id>/active")
def change_active(user_id: int):
    """Deactivate a user (their logins end and they cannot log in) or let them log in again."""
    active = request.form.get("active") == "1"
    try:
        user = _someone_else(user_id)
        set_user_active(get_session(), user, active)
    except UserError as exc:
        flash(str(exc), "error")
    else:
        flash(_("%(email)s can log in again.", email=user.email) if active else
              _("%(email)s is deactivated and has been logged out everywhere.", email=user.email), "success")
    return redirect(url_for("users.index"), 303)


def _someone_else(user_id: int):
    # An admin demoting or deactivating themselves could leave Herald with no admin at all.
    if user_id == current_user.id:
        raise UserError(_("You cannot change your own role or deactivate yourself; ask another admin."))
    return get_user(get_session(), user_id)


def _page(*, form: dict[str, str], errors: dict[str, str]) -> str:
    # Any user can own contacts (the company owns the customer; the owner looks after them).
    return render_template("users/list.html", users=list_users(get_session()), form=form, errors=errors,
                           owned=owned_contact_counts(get_session()),
                           role_options=[(role, role_label(role)) for role in ROLES])


