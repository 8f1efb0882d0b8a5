"""Campaign pages: the list, the create form, the campaign page with "Send now" and live counts."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from audiences import count_contacts, get_list, list_contacts, list_lists
from campaigns import (
    ChannelUnavailable,
    campaign_status,
    campaign_statuses,
    create_campaign,
    create_event_notice,
    get_campaign,
    get_template,
    list_campaigns,
    list_templates,
    preview_template,
    send_campaign_now,
    sending_starts,
    set_campaign_schedule,
    update_campaign,
)
from campaigns.notices import DEFAULT_FALLBACK_MINUTES
from campaigns.schedules import ScheduleDefaults, send_now_timing
from core.errors import HeraldError, Invalid
from web.db import get_session
from web.pages.campaign_controls import control_fields, control_options, controls_context, segment_options
from web.pages.campaign_schedule import (
    schedule_context,
    schedule_fields,
    schedule_form_context,
    schedule_from_form,
    when_label,
)
from web.pages.check_words import findings_for_page, level_label
from web.pages.context import (
    all_status_labels,
    channel_info,
    check_settings,
    config,
    now,
    opt_out_warning,
    sending_starts_text,
    sms_as_sent,
)
from web.senders import checked_sender, sender_options

bp = Blueprint("campaigns", __name__)

CHANNELS = ("sms", "email")


@bp.get("/campaigns")
def index():
    db_session = get_session()
    campaigns = list_campaigns(db_session)
    statuses = campaign_statuses(db_session, [campaign.id for campaign in campaigns])
    rows = [(campaign, statuses[campaign.id]) for campaign in campaigns]
    return render_template("campaigns/list.html", rows=rows, when_label=when_label)


@bp.route("/campaigns/new", methods=["GET", "POST"])
def new():
    db_session = get_session()
    form = {
        "name": request.values.get("name", "").strip(),
        "channel": request.values.get("channel", "sms"),
        "template_id": request.values.get("template", request.form.get("template_id", "")),
        "list_id": request.values.get("list_id", ""),
        "sender": request.values.get("sender", ""),
        **control_fields(request.values),
        **schedule_fields(request.values),
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            schedule = schedule_from_form(form)  # checked first: a bad schedule creates nothing
            # SMS has no sender accounts: a choice left over from switching channels is dropped, not refused.
            sender = checked_sender(config(), form["sender"]) if form["channel"] == "email" else None
            make = create_event_notice if form["kind"] == "event_notice" else create_campaign
            made = make(
                db_session, name=form["name"], channel=form["channel"], template_id=_int(form["template_id"],
                                                                                          "template_id"),
                list_id=_int(form["list_id"], "list_id") if form["list_id"] else None,
                created_by=current_user.id, now=now(), **control_options(form),
            )
            if sender:
                update_campaign(db_session, made.id, sender=sender, now=now())
            if schedule is not None:
                set_campaign_schedule(db_session, made.id, schedule, now=now())
        except Invalid as exc:
            errors[exc.field or "name"] = exc.message
        else:
            flash(_("Campaign “%(name)s” created as a draft. Check it, then send it.", name=made.name), "success")
            return redirect(url_for("campaigns.detail", campaign_id=made.id), 303)
    audience_options = [("", _("All contacts (%(count)s)", count=format_decimal(count_contacts(db_session))))]
    audience_options += [(contact_list.id, _("List: %(name)s (%(count)s)", name=contact_list.name,
                                              count=format_decimal(members)))
                         for contact_list, members in list_lists(db_session)]
    return render_template("campaigns/form.html", form=form, errors=errors, templates=list_templates(db_session),
                           audience_options=audience_options, channels=CHANNELS,
                           segment_options=segment_options(db_session), sender_options=sender_options(config()),
                           cap_default=(config().cap_messages, config().cap_days),
                           fallback_default=str(DEFAULT_FALLBACK_MINUTES),
                           **schedule_form_context(form)), (422 if errors else 200)


@bp.get("/campaigns/<int:campaign_id>")
def detail(campaign_id: int):
    db_session = get_session()
    campaign = get_campaign(db_session, campaign_id)
    controls = controls_context(campaign)
    estimate = controls["estimate"]
    # Before sending, every count on the page is the estimate's: the same audience (segment, consent, caps,
    # holdout) the sender will materialise. The list's size alone said "327" for a segment of 2.
    audience = estimate.audience if estimate is not None else count_contacts(db_session, campaign.list_id)
    template = get_template(db_session, campaign.template_id)
    # A marketing message with no way out, while it can still be fixed: before it is sent.
    opt_out = (opt_out_warning(campaign.channel, template)
               if campaign.kind != "event_notice" and campaign.status in ("draft", "pending_approval", "scheduled")
               else "")
    before_send = campaign.status in ("draft", "pending_approval", "scheduled")
    return render_template(
        "campaigns/detail.html", campaign=campaign, status=campaign_status(db_session, campaign_id),
        opt_out_warning=opt_out, checks=_checks(campaign, template) if before_send else None,
        level_label=level_label, contacts=list_contacts(db_session, per_page=50).items,
        starts=_starts_text(db_session, campaign),
        template=template,
        audience_list=get_list(db_session, campaign.list_id) if campaign.list_id else None,
        audience=audience, sendable=estimate.sendable if estimate is not None else 0,
        channel=channel_info(campaign.channel), status_labels=all_status_labels(), **controls,
        **schedule_context(campaign),
    )


def _checks(campaign, template) -> dict[str, object]:
    """The pre-send checks of the campaign's message as its first contact gets it (the template editor shows
    them for any contact): {"findings": [...]} or {"error": why it cannot be rendered}."""
    parts = ("subject", "html", "text") if campaign.channel == "email" else ("body", "provider_template")
    try:
        preview = preview_template(get_session(), channel=campaign.channel, contact_id=None,
                                   base_url=config().base_url, tracking=config().tracking, campaign_name=campaign.name,
                                   as_sent=sms_as_sent(campaign.channel), checks=check_settings(),
                                   provider_params=template.provider_params,
                                   **{part: getattr(template, part) or "" for part in parts})
    except HeraldError as exc:
        return {"error": exc.message}
    return {"findings": findings_for_page(preview.checks)}


@bp.post("/campaigns/<int:campaign_id>/send")
def send(campaign_id: int):
    try:
        run = send_campaign_now(get_session(), campaign_id, config=config(), now=now(), user_id=current_user.id)
    except ChannelUnavailable as exc:
        flash(_("The channel cannot be opened, so nothing was sent: %(error)s", error=exc.message), "error")
        return redirect(url_for("campaigns.detail", campaign_id=campaign_id), 303)
    wake = current_app.extensions.get("herald.wake")
    if wake is not None:
        wake()  # the embedded sender starts now instead of at its next poll
    flash(_("Sending started.") if not run.dry_run else
          _("Dry run started: messages are written to files, nothing is delivered."), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id), 303)


@bp.get("/campaigns/<int:campaign_id>/status")
def status(campaign_id: int):
    """Live counts for the campaign page, polled every second, and why nothing is sent yet if so."""
    db_session = get_session()
    found = campaign_status(db_session, campaign_id).to_dict()
    return jsonify(found | {"starts": _starts_text(db_session, get_campaign(db_session, campaign_id))})


def _starts_text(db_session, campaign) -> str:
    """"Held by quiet hours: sending starts at 08:00 …" while a running campaign has nothing due; else ""."""
    if campaign.status != "running":
        return ""
    settings = config()
    starts = sending_starts(db_session, campaign.id, now=now(), default_zone=settings.default_timezone)
    if starts is None:
        return ""
    timing = send_now_timing(campaign, ScheduleDefaults.from_config(settings))
    quiet_end = timing.quiet.end.strftime("%H:%M") if timing.quiet is not None else None
    return sending_starts_text(starts, now(), quiet_end=quiet_end)


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        message = _("Pick a template.") if field == "template_id" else _("Pick a list, or all contacts.")
        raise Invalid(message, field=field) from None
