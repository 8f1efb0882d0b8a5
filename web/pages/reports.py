"""Report pages: the overview of campaigns in a period, and each campaign's report with its exports.

The page, the CSV/XLSX files and the API read one CampaignReport (campaigns/results/report_campaign.py), so
the numbers agree to the unit; the tables on the page are drawn from the same rows the files hold.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from campaigns import ReportSettings
from campaigns import campaign_report as build_campaign_report
from campaigns.ab_test import choose_winner
from campaigns.delivery.costs import add_fixed_cost, fixed_costs_of, remove_fixed_cost
from campaigns.results.report_effect import variant_scores
from campaigns.results.report_export import report_csv, report_xlsx
from campaigns.results.report_numbers import money
from campaigns.results.report_overview import local_midnight, overview_report
from campaigns.results.stats import p_value_text
from core.errors import Invalid
from web.charts import funnel_svg, series_svg
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("reports", __name__)

# The report's own (English) names for rows, columns and steps, as the reader's language shows them.
LABELS = {
    "Audience": _l("Audience"), "Reachable": _l("Reachable"), "Sent": _l("Sent"), "Delivered": _l("Delivered"),
    "Failed": _l("Failed"), "Opened": _l("Opened"), "Opened (people)": _l("Opened (people)"),
    "Clicked": _l("Clicked"), "Converted": _l("Converted"), "Converted (people)": _l("Converted (people)"),
    "Click rate": _l("Click rate"), "Conversions": _l("Conversions"), "Conversion rate": _l("Conversion rate"),
    "Revenue": _l("Revenue"), "Cost": _l("Cost"), "Suppressed": _l("Suppressed"), "Capped": _l("Capped"),
    "Duplicate address": _l("Duplicate address"),
    "Held out": _l("Held out"), "Waiting for the A/B winner": _l("Waiting for the A/B winner"),
    "Unknown": _l("Unknown"), "Replied": _l("Replied"), "Unsubscribed": _l("Unsubscribed"),
    "Cost of messages": _l("Cost of messages"), "Fixed costs": _l("Fixed costs"), "ROI": _l("ROI"),
    "Cost per conversion": _l("Cost per conversion"), "Incremental revenue": _l("Incremental revenue"),
    "Incremental ROI": _l("Incremental ROI"), "Figure": _l("Figure"), "Step": _l("Step"), "People": _l("People"),
    "Code": _l("Code"), "Reason": _l("Reason"), "Messages": _l("Messages"), "Amount": _l("Amount"),
    "Currency": _l("Currency"), "Rule": _l("Rule"), "Variant": _l("Variant"), "Channel": _l("Channel"),
    "Value tier": _l("Value tier"), "Lifecycle stage": _l("Lifecycle stage"), "Region": _l("Region"),
    "Group": _l("Group"), "Buyers": _l("Buyers"), "Revenue per head": _l("Revenue per head"), "Hour": _l("Hour"),
    "Day": _l("Day"), "Clicks": _l("Clicks"), "Summary": _l("Summary"), "Funnel": _l("Funnel"),
    "Failures by reason": _l("Failures by reason"), "Costs": _l("Costs"),
    "Conversions by attribution rule": _l("Conversions by attribution rule"), "By variant": _l("By variant"),
    "By channel": _l("By channel"), "By value tier": _l("By value tier"),
    "By lifecycle stage": _l("By lifecycle stage"), "By region": _l("By region"),
    "Sent group against holdout group": _l("Sent group against holdout group"), "By hour": _l("By hour"),
    "By day": _l("By day"), "click": _l("last click"), "receipt": _l("last message received"),
    "code": _l("campaign code"), "none": _l("not attributed"), "Campaigns": _l("Campaigns"),
    "Kind": _l("Kind"), "Month": _l("Month"), "Campaign": _l("Campaign"), "Status": _l("Status"),
    "By kind": _l("By kind"), "By month": _l("By month"), "Dormant contacts reactivated": _l(
        "Dormant contacts reactivated"), "Dormant contacts sent to": _l("Dormant contacts sent to"),
    "Bought within the window": _l("Bought within the window"), "Reactivation rate": _l("Reactivation rate"),
    "click rate": _l("click rate"), "conversion rate": _l("conversion rate"),
    "revenue per recipient": _l("revenue per recipient"), "Started": _l("Started"),
    "By run": _l("By run"), "Run": _l("Run"), "Occasion": _l("Occasion"), "Fired at": _l("Fired at"),
    "Recipients": _l("Recipients"), "Waiting": _l("Waiting"), "Not sent": _l("Not sent"), "Notes": _l("Notes"),
    "running": _l("Running"), "completed": _l("Completed"), "missed": _l("Missed"), "cancelled": _l("Cancelled"),
    "paused": _l("Paused"), "failed": _l("Failed"),
    "broadcast": _l("Broadcast"), "recurring": _l("Recurring"), "date_rule": _l("Date rule"),
    "event_notice": _l("Event notice"), "All": _l("All"),
    # The channel names as the badges say them (邮件, not 邮箱 — the address field's word).
    "email": lazy_pgettext("channel", "Email"), "sms": lazy_pgettext("channel", "SMS"),
}


def label(text: object) -> str:
    """The reader's words for one of the report's names; other text (a tier, a region) as it is."""
    if text is None:
        return ""
    key = str(text)
    if key.startswith("Value (") and key.endswith(" for money)"):
        return _("Value (%(currency)s for money)", currency=key[len("Value ("):-len(" for money)")])
    if key.endswith(" (rollout)"):  # an A/B variant's rollout row, "B (rollout)"
        return _("%(variant)s (rollout)", variant=key[:-len(" (rollout)")])
    if key.startswith("Messages (") and key.endswith(")"):
        return _("Messages (%(currency)s)", currency=key[len("Messages ("):-1])
    return str(LABELS.get(key, key))


@bp.app_context_processor
def _report_helpers() -> dict[str, object]:
    return {"report_label": label, "cash": cash, "p_value_text": p_value_text}


def cash(value: Decimal | None) -> Decimal | None:
    """A money figure rounded as the exports and the API round it (report_numbers.money), for |money."""
    shown = money(value)
    return None if shown is None else Decimal(shown)


def _campaign_report(campaign_id: int):
    return build_campaign_report(get_session(), campaign_id, ReportSettings.from_config(config()))


def _series_labels() -> dict[str, str]:
    return {"sent": _("Sent"), "delivered": _("Delivered"), "clicked": _("Clicks"), "conversions": _("Conversions")}


def _page_context(campaign_id: int) -> dict[str, object]:
    report = _campaign_report(campaign_id)
    return {
        "report": report,
        "funnel_chart": funnel_svg([(label(step), n) for step, n in report.funnel()], title=_("Funnel")),
        "series_chart": series_svg(report.series, _series_labels(), title=label("By " + report.series_grain)),
        "fixed_costs": fixed_costs_of(get_session(), campaign_id),
        "variant_ids": {v.label: v.id for v in _variants(campaign_id)},
    }


def _variants(campaign_id: int):
    from campaigns.ab_test import variants_of

    return variants_of(get_session(), campaign_id)


@bp.get("/reports/campaigns/<int:campaign_id>")
def campaign(campaign_id: int):
    return render_template("reports/campaign.html", **_page_context(campaign_id))


@bp.get("/reports/campaigns/<int:campaign_id>/print")
def campaign_print(campaign_id: int):
    """The same report without navigation or forms, laid out for paper (print CSS)."""
    return render_template("reports/campaign_print.html", printing=True, printed_at=now(),
                           **_page_context(campaign_id))


@bp.get("/reports/campaigns/<int:campaign_id>.json")
def campaign_json(campaign_id: int):
    """The same report as a file, for spreadsheets and scripts (the API has it too)."""
    body = json.dumps(_campaign_report(campaign_id).to_dict(), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-report.json"'})


@bp.get("/reports/campaigns/<int:campaign_id>/<key>.csv")
def campaign_csv(campaign_id: int, key: str):
    # A byte-order mark, so Excel opens the UTF-8 (Chinese names, ¥) as UTF-8.
    body = "\ufeff" + report_csv(_campaign_report(campaign_id), key)
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-{key}.csv"'})


@bp.get("/reports/campaigns/<int:campaign_id>.xlsx")
def campaign_xlsx(campaign_id: int):
    return Response(report_xlsx(_campaign_report(campaign_id)),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-report.xlsx"'})


@bp.post("/reports/campaigns/<int:campaign_id>/costs")
def add_cost(campaign_id: int):
    form = request.form
    cost = add_fixed_cost(get_session(), campaign_id, label=form.get("label", ""), amount=form.get("amount", ""),
                          currency=form.get("currency", "") or config().currency, now=now())
    flash(_("Added the fixed cost “%(label)s”.", label=cost.label), "success")
    return redirect(url_for("reports.campaign", campaign_id=campaign_id) + "#costs", 303)


@bp.post("/reports/campaigns/<int:campaign_id>/costs/<int:cost_id>/delete")
def remove_cost(campaign_id: int, cost_id: int):
    remove_fixed_cost(get_session(), campaign_id, cost_id)
    flash(_("Removed the fixed cost."), "success")
    return redirect(url_for("reports.campaign", campaign_id=campaign_id) + "#costs", 303)


@bp.post("/reports/campaigns/<int:campaign_id>/winner")
def winner(campaign_id: int):
    """Choose the A/B winner by hand (or by the metric, with no variant named); the rest get it now."""
    session = get_session()
    raw = request.form.get("variant_id", "")
    if raw and not raw.isdigit():
        raise Invalid(f'variant "{raw}" is not a variant id; pick one of the variants listed', field="variant_id")
    from campaigns import get_campaign

    metric = get_campaign(session, campaign_id).ab_metric
    scores = {v: value for v, (value, *_rest) in variant_scores(session, campaign_id, metric).items()}
    chosen = choose_winner(session, campaign_id, now=now(), variant_id=int(raw) if raw else None, results=scores)
    flash(_("Variant %(label)s is the winner; it is being sent to the rest of the audience.", label=chosen.label),
          "success")
    return redirect(url_for("reports.campaign", campaign_id=campaign_id) + "#ab-test", 303)


# ---------------------------------------------------------------- overview
def _period() -> tuple[date, date]:
    """The period from ?from=&to= (inclusive days), by default the last 90 days up to today."""
    today = now().astimezone(ZoneInfo(config().default_timezone)).date()
    try:
        end = date.fromisoformat(request.args.get("to", "")) if request.args.get("to") else today
        start = date.fromisoformat(request.args.get("from", "")) if request.args.get("from") else (
            end - timedelta(days=89))
    except ValueError:
        raise Invalid(_("Write the period's dates as YYYY-MM-DD, e.g. %(example)s.", example=today.isoformat()),
                      field="from") from None
    if start > end:
        raise Invalid(_("The period starts after it ends; swap the two dates."), field="from")
    return start, end


def _overview():
    start, end = _period()
    # The period is whole days of the workspace's zone, as every date on the page is written.
    settings = ReportSettings.from_config(config())
    report = overview_report(get_session(), start=local_midnight(start, settings.time_zone),
                             end=local_midnight(end + timedelta(days=1), settings.time_zone), settings=settings)
    return report, start, end


@bp.get("/reports")
def index():
    report, start, end = _overview()
    return render_template("reports/overview.html", overview=report, start=start, end=end)


@bp.get("/reports/overview/<key>.csv")
def overview_csv(key: str):
    report, start, end = _overview()
    return Response("\ufeff" + report_csv(report, key), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="overview-{start}-{end}-{key}.csv"'})


@bp.get("/reports/overview.xlsx")
def overview_xlsx():
    report, start, end = _overview()
    return Response(report_xlsx(report),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="overview-{start}-{end}.xlsx"'})
