"""A campaign's holdout and A/B test page: who is held out, the variants and how the winner is chosen."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

import campaigns
from campaigns.ab_test import MAX_VARIANTS, METRICS, VariantSpec, set_ab_test, variants_of
from core.errors import Invalid
from web.db import get_session

bp = Blueprint("experiments", __name__)


@dataclass
class ExperimentForm:
    holdout_percent: str = "0"
    test_percent: str = "0"
    metric: str = "click_rate"
    wait_hours: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (label, template id, weight) per variant


def _metric_names() -> list[tuple[str, str]]:
    names = {"click_rate": _("Click rate"), "conversion_rate": _("Conversion rate"),
             "revenue_per_recipient": _("Revenue per recipient")}
    return [(m, names[m]) for m in METRICS]


def _page(campaign: campaigns.Campaign, form: ExperimentForm, errors: dict[str, str]) -> str:
    templates = campaigns.list_templates(get_session(), channel=campaign.channel)
    rows = form.rows + [("", "", "1")] * (MAX_VARIANTS - len(form.rows))
    return render_template("campaigns/experiment.html", campaign=campaign, form=form, rows=rows, errors=errors,
                           templates=templates, metrics=_metric_names(), editable=campaign.status == "draft")


@bp.get("/campaigns/<int:campaign_id>/experiment")
def edit(campaign_id: int):
    session = get_session()
    campaign = campaigns.get_campaign(session, campaign_id)
    form = ExperimentForm(str(campaign.holdout_percent), str(campaign.ab_test_percent), campaign.ab_metric,
                          "" if campaign.ab_wait_hours is None else str(campaign.ab_wait_hours),
                          [(v.label, str(v.template_id), str(v.weight)) for v in variants_of(session, campaign_id)])
    return _page(campaign, form, {})


def _whole(raw: str, name: str, what: str) -> int:
    raw = raw.strip()
    if not raw.isdigit():
        raise Invalid(_("Write %(what)s as a whole number.", what=what), field=name)
    return int(raw)


@bp.post("/campaigns/<int:campaign_id>/experiment")
def save(campaign_id: int):
    session = get_session()
    campaign = campaigns.get_campaign(session, campaign_id)
    f = request.form
    rows = [(f.get(f"label_{n}", "").strip(), f.get(f"template_{n}", "").strip(), f.get(f"weight_{n}", "1").strip())
            for n in range(MAX_VARIANTS)]
    rows = [row for row in rows if row[1]]  # a variant is a row with a template chosen
    form = ExperimentForm(f.get("holdout_percent", "0"), f.get("test_percent", "0"), f.get("metric", "click_rate"),
                          f.get("wait_hours", ""), rows)
    try:
        variants = [VariantSpec(label, _whole(template, "variants", _("the template")),
                                _whole(weight or "1", "variants", _("the weight"))) for label, template, weight in rows]
        set_ab_test(session, campaign_id, variants=variants,
                    test_percent=_whole(form.test_percent or "0", "ab_test_percent", _("the test share")),
                    metric=form.metric,
                    wait_hours=_whole(form.wait_hours, "ab_wait_hours", _("the hours")) if form.wait_hours.strip()
                    else None,
                    holdout_percent=_whole(form.holdout_percent or "0", "holdout_percent", _("the holdout share")))
    except Invalid as exc:
        session.rollback()
        return _page(campaign, form, {exc.field or "variants": exc.message}), 422
    flash(_("Holdout and A/B test saved."), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id), 303)
