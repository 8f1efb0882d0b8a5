"""When a campaign sends, in the pages: the "When" part of the campaign form, the schedule card with the
next ten firings and the Schedule button, and the runs list. The domain is campaigns/schedules.py and
campaigns/firing.py; this module only reads the form and lays the answers out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from audiences import DATE_KINDS
from campaigns import (
    Campaign,
    Schedule,
    ScheduleDefaults,
    get_campaign,
    holiday_labels,
    next_firings,
    schedule_campaign,
    schedule_of,
    set_campaign_schedule,
)
from campaigns.results.report_runs import run_reports
from campaigns.runs import RUNS_SHOWN
from core.errors import Invalid
from web.db import get_session
from web.pages.context import config, now

bp = Blueprint("campaign_schedule", __name__)

WHEN_CHOICES = ("now", "at", "recurring", "date_rule", "holiday")
# The form's field names, each prefixed so they never meet another part of the campaign form.
FIELDS = ("send_at", "zone_mode", "time_zone", "quiet_hours", "cron", "end_date", "max_runs", "time_of_day",
          "date_source", "offset_days", "feb29", "holiday", "country")
FORM_TO_SCHEDULE = {"send_at": "send_at", "cron": "cron", "end_date": "end_date", "max_runs": "max_runs",
                    "time_of_day": "time_of_day", "date_source": "date_source", "offset_days": "offset_days",
                    "feb29": "feb29", "holiday": "holiday", "country": "country"}


def schedule_fields(values: Mapping[str, str]) -> dict[str, str]:
    """The "When" fields of the campaign form, as typed (for re-rendering after an error)."""
    fields = {f"s_{name}": (values.get(f"s_{name}") or "").strip() for name in FIELDS}
    fields["when"] = values.get("when", "now") if values.get("when") in WHEN_CHOICES else "now"
    return fields


def schedule_from_form(form: Mapping[str, str]) -> Schedule | None:
    """The Schedule the form describes (None: Send now by hand). Raises Invalid naming the form field."""
    when = form.get("when", "now")
    if when == "now":
        return None
    if form.get("kind") == "event_notice":
        raise Invalid(_("An event notice is sent at once; make a marketing campaign to send at a time."),
                      field="when")
    data: dict[str, Any] = {"kind": when, "per_recipient": form.get("s_zone_mode") == "recipient"}
    if form.get("s_time_zone"):
        data["time_zone"] = form["s_time_zone"]
    if form.get("s_quiet_hours"):
        data["quiet_hours"] = form["s_quiet_hours"]
    wanted = {"at": ("send_at",), "recurring": ("cron", "end_date", "max_runs"),
              "date_rule": ("time_of_day", "date_source", "offset_days", "feb29"),
              "holiday": ("time_of_day", "holiday", "country")}[when]
    for name in wanted:
        if form.get(f"s_{name}"):
            data[FORM_TO_SCHEDULE[name]] = form[f"s_{name}"]
    try:
        return Schedule.from_dict(data, today=now().date(), defaults=ScheduleDefaults.from_config(config()))
    except Invalid as exc:
        # Shown next to its field on the form; anything without a field of its own, next to "When".
        raise Invalid(exc.message, field=f"s_{exc.field}" if exc.field in FIELDS else "when") from None


def schedule_form_context(form: Mapping[str, str]) -> dict[str, Any]:
    """Choices for the "When" fields: date sources and the holidays of the chosen (or default) country."""
    settings = config()
    country = (form.get("s_country") or settings.default_region or "CN").upper()
    try:
        holidays = list(holiday_labels(country, now().year, _holiday_language()).items())  # (stored name, label)
    except Invalid:
        holidays = []
    sources = [("birthday", _("Birthday"))] + [(f"date:{kind}", kind.replace("_", " ")) for kind in DATE_KINDS]
    return {"date_sources": sources, "holiday_choices": holidays, "holiday_country": country,
            "sender_zone": settings.default_timezone, "quiet_default": settings.quiet_hours}


def schedule_context(campaign: Campaign) -> dict[str, Any]:
    """What the campaign page shows about time: the schedule, its next ten firings, the runs."""
    db_session = get_session()
    schedule = schedule_of(campaign.schedule)
    zone = ZoneInfo(schedule.time_zone if schedule else config().default_timezone)
    firings = next_firings(db_session, campaign, now=now()) if schedule else []
    return {
        "schedule": schedule,
        "schedule_text": describe_schedule(schedule) if schedule else "",
        "firings": [(moment, _firing_label(schedule, moment, zone)) for moment in firings] if schedule else [],
        "schedule_zone": zone.key,
        # The runs' figures as the report counts them (sent: taken by a provider), the newest RUNS_SHOWN.
        "runs": run_reports(db_session, campaign.id, limit=RUNS_SHOWN),
    }


def describe_schedule(schedule: Schedule) -> str:
    """The schedule in a sentence, in the reader's language."""
    zone = _("each recipient's time zone") if schedule.per_recipient else schedule.time_zone
    if schedule.kind == "at":
        text = _("Once, at %(when)s in %(zone)s.", when=str(schedule.send_at).replace("T", " "), zone=zone)
    elif schedule.kind == "recurring":
        text = _("Cron rule %(cron)s in %(zone)s.", cron=schedule.cron, zone=schedule.time_zone)
        if schedule.end_date:
            text += " " + _("Until %(day)s.", day=schedule.end_date)
        if schedule.max_runs:
            text += " " + _("At most %(count)s runs.", count=schedule.max_runs)
    elif schedule.kind == "date_rule":
        source = _("birthday") if schedule.date_source == "birthday" else str(schedule.date_source).partition(":")[2]
        if schedule.offset_days < 0:
            text = _("%(days)s days before each contact's %(date)s, at %(time)s in %(zone)s.",
                     days=-schedule.offset_days, date=source, time=schedule.time_of_day, zone=zone)
        elif schedule.offset_days > 0:
            text = _("%(days)s days after each contact's %(date)s, at %(time)s in %(zone)s.",
                     days=schedule.offset_days, date=source, time=schedule.time_of_day, zone=zone)
        else:
            text = _("On each contact's %(date)s, at %(time)s in %(zone)s.", date=source,
                     time=schedule.time_of_day, zone=zone)
        text += " " + _("Once per person per year.")
    else:
        name = str(schedule.holiday)
        label = holiday_labels(str(schedule.country), now().year, _holiday_language()).get(name, name)
        country = get_locale().territories.get(str(schedule.country), str(schedule.country))  # CN -> 中国
        text = _("Every year on %(holiday)s (%(country)s calendar), at %(time)s in %(zone)s.",
                 holiday=label, country=country, time=schedule.time_of_day, zone=zone)
    return text


def when_label(campaign: Campaign) -> str:
    """Short text for lists: "Send now" or the schedule's kind."""
    schedule = schedule_of(campaign.schedule)
    labels = {"at": _("At a time"), "recurring": _("Recurring"), "date_rule": _("Date rule"), "holiday": _("Holiday")}
    return labels[schedule.kind] if schedule else _("Send now")


def form_from_schedule(schedule: Schedule | None, kind: str) -> dict[str, str]:
    """The "When" fields filled from a stored schedule (the edit form starts from what is there)."""
    form = {f"s_{name}": "" for name in FIELDS}
    form.update(when=schedule.kind if schedule else "now", kind=kind)
    if schedule is None:
        return form
    for name, attribute in FORM_TO_SCHEDULE.items():
        value = getattr(schedule, attribute)
        form[f"s_{name}"] = "" if value in (None, 0) and name != "offset_days" else str(value)
    form["s_offset_days"] = str(schedule.offset_days) if schedule.offset_days else ""
    form["s_zone_mode"] = "recipient" if schedule.per_recipient else "sender"
    form["s_time_zone"] = schedule.time_zone
    form["s_quiet_hours"] = schedule.quiet_hours or ""
    return form


@bp.route("/campaigns/<int:campaign_id>/schedule/edit", methods=["GET", "POST"])
def edit(campaign_id: int):
    """Change when a draft sends (or make it Send now again)."""
    db_session = get_session()
    campaign = get_campaign(db_session, campaign_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {**schedule_fields(request.form), "kind": campaign.kind}
        try:
            set_campaign_schedule(db_session, campaign_id, schedule_from_form(form), now=now())
        except Invalid as exc:
            errors[exc.field or "when"] = exc.message
        else:
            flash(_("Schedule saved."), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign_id), 303)
    else:
        form = form_from_schedule(schedule_of(campaign.schedule), campaign.kind)
    return render_template("campaigns/schedule_form.html", campaign=campaign, form=form, errors=errors,
                           **schedule_form_context(form)), (422 if errors else 200)


@bp.post("/campaigns/<int:campaign_id>/schedule")
def arm(campaign_id: int):
    """The Schedule button: draft -> scheduled; the scheduler fires it from then on."""
    kind = get_campaign(get_session(), campaign_id).kind
    campaign = schedule_campaign(get_session(), campaign_id, now=now(), user_id=current_user.id,
                                 approval_required=config().approval_required_for(kind))
    upcoming = next_firings(get_session(), campaign, now=now(), count=1)
    first = upcoming[0].astimezone(ZoneInfo(schedule_of(campaign.schedule).time_zone)) if upcoming else None
    flash(_("Scheduled. The first run is at %(when)s.", when=_local(first)) if first else _("Scheduled."), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id), 303)


def _holiday_language() -> str:
    """The holidays package's language for the reader: its calendars speak zh_CN and en_US among others."""
    # Babel names the reader's Chinese "zh_Hans_CN", never "zh_CN": compare the language, not the string.
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en_US"


def _firing_label(schedule: Schedule, moment: datetime, zone: ZoneInfo) -> str:
    """A firing as the marketer thinks of it: the sender's local time, or — when each recipient's clock
    counts — the day and the time every recipient gets it at."""
    locale = get_locale()
    if schedule.per_recipient:
        local = schedule.local_time()
        return _("%(day)s %(time)s, each recipient's time",
                 day=format_date(schedule.day_of(moment), "yyyy-MM-dd EEE", locale=locale),
                 time=local.strftime("%H:%M") if local else "")
    return format_datetime(moment, "yyyy-MM-dd HH:mm EEE", tzinfo=zone, locale=locale)


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z")
