"""The conversions page: what was bought and which campaign it is credited to, importing a shop's export, and
recomputing RFM scores on demand."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

import campaigns
from campaigns.results.conversion_list import conversion_totals, recent_conversions
from campaigns.results.rfm import last_scored_at, score_contacts
from core.errors import Invalid
from web.db import get_session

bp = Blueprint("conversions", __name__)

SHOWN_REJECTIONS = 200


def _config():
    return current_app.extensions["herald.config"]


def _page(*, report: campaigns.ConversionReport | None = None, filename: str = "",
          errors: dict[str, str] | None = None) -> str:
    session = get_session()
    config = _config()
    return render_template(
        "conversions/index.html", conversions=recent_conversions(session), totals=conversion_totals(session),
        currency=config.currency, rates=config.currency_rates, report=report, filename=filename,
        shown_rejections=SHOWN_REJECTIONS, errors=errors or {}, last_scored=last_scored_at(session),
        dormant_days=config.dormant_days)


@bp.get("/conversions")
def index():
    return _page()


@bp.post("/conversions/import")
def import_file():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(errors={"file": _("Choose a CSV or Excel file to import.")}), 422
    try:
        report = campaigns.import_conversions(
            get_session(), upload.stream, filename=upload.filename,
            settings=campaigns.ConversionSettings.from_config(_config()),
            now=current_app.extensions["herald.clock"].now(), limits=_config().imports)
    except Invalid as exc:
        return _page(errors={"file": exc.message}), 422
    return _page(report=report, filename=upload.filename)


@bp.post("/conversions/rfm")
def rfm():
    result = score_contacts(get_session(), now=current_app.extensions["herald.clock"].now(),
                            dormant_days=_config().dormant_days)
    flash(_("RFM scores computed for %(scored)s buying contacts; %(dormant)s contacts became dormant.",
            scored=result.scored, dormant=result.dormant), "success")
    return redirect(url_for("conversions.index"), 303)
