"""Settings → Rate plans: what each channel and provider charges, by destination, with a monthly free quota."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from campaigns.delivery.costs import create_rate_plan, end_rate_plan, list_rate_plans
from core.errors import Invalid
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("rate_plans", __name__)

FIELDS = ("channel", "provider", "country_prefix", "unit_price", "currency", "monthly_free_quota", "effective_from",
          "effective_to")


def _page(form: dict[str, str], errors: dict[str, str]) -> str:
    return render_template("settings/rate_plans.html", plans=list_rate_plans(get_session()), form=form,
                           errors=errors, today=now().date())


@bp.get("/settings/rate-plans")
def index():
    return _page({"channel": "sms", "currency": config().currency, "monthly_free_quota": "0",
                  "effective_from": now().date().isoformat()}, {})


def _day(raw: str, name: str) -> datetime | None:
    if not raw.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(raw.strip()), time.min, tzinfo=UTC)
    except ValueError:
        raise Invalid(_("Write the date as YYYY-MM-DD."), field=name) from None


@bp.post("/settings/rate-plans")
def create():
    form = {name: request.form.get(name, "") for name in FIELDS}
    try:
        quota = form["monthly_free_quota"].strip() or "0"
        if not quota.isdigit():
            raise Invalid(_("Write the free quota as a whole number of messages (0 for none)."),
                          field="monthly_free_quota")
        create_rate_plan(get_session(), channel=form["channel"], provider=form["provider"],
                         country_prefix=form["country_prefix"], unit_price=form["unit_price"],
                         currency=form["currency"], monthly_free_quota=int(quota),
                         effective_from=_day(form["effective_from"], "effective_from") or now(),
                         effective_to=_day(form["effective_to"], "effective_to"), now=now())
    except Invalid as exc:
        get_session().rollback()
        return _page(form, {exc.field or "unit_price": exc.message}), 422
    flash(_("Rate plan added; messages sent from now on are priced with it."), "success")
    return redirect(url_for("rate_plans.index"), 303)


@bp.post("/settings/rate-plans/<int:plan_id>/end")
def end(plan_id: int):
    end_rate_plan(get_session(), plan_id, now=now())
    flash(_("Rate plan ended; messages already sent keep their price."), "success")
    return redirect(url_for("rate_plans.index"), 303)
