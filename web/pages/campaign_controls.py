"""The campaign page's controls: submit, approve or reject; pause, resume, cancel; the pre-send estimate,
the status history, and an event notice's fallback re-send. Each button posts here and comes back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from audiences import get_segment, list_segments
from campaigns import (
    Campaign,
    FrequencyCap,
    ScheduleDefaults,
    approval_samples,
    approve_campaign,
    cancel_campaign,
    estimate_campaign,
    fallback_of,
    get_campaign,
    get_template,
    list_templates,
    list_transitions,
    pause_campaign,
    planned_fallback_at,
    planned_timing,
    reject_campaign,
    resend_undelivered,
    resume_campaign,
    submit_for_approval,
)
from campaigns.delivery.sender import describe_channel
from campaigns.notices import DEFAULT_FALLBACK_MINUTES, OTHER_CHANNEL
from core.errors import HeraldError, Invalid
from web.auth import approval_view
from web.db import get_session
from web.pages.context import channel_info, config, now, waiting_words

bp = Blueprint("campaign_controls", __name__)

# Statuses before sending, when the estimate is worth showing.
BEFORE_SENDING = ("draft", "pending_approval", "scheduled")


def controls_context(campaign: Campaign) -> dict[str, Any]:
    """What the campaign page needs for these controls (kept here so the page view stays one call)."""
    db_session = get_session()
    settings = config()
    context: dict[str, Any] = {
        "transitions": list_transitions(db_session, campaign.id),
        "approval_required": settings.approval_required_for(campaign.kind),
        "can_approve": current_user.can("approve"),
        "segment": get_segment(db_session, campaign.segment_id) if campaign.segment_id else None,
        "estimate": None,
        "fallback": None,
        "fallback_templates": [],
        "fallback_channel": OTHER_CHANNEL[campaign.channel],
        "fallback_minutes": DEFAULT_FALLBACK_MINUTES,
        "planned_fallback": None,
        "exclusion_label": exclusion_label,
        "samples": [],
    }
    if campaign.status == "pending_approval":  # the approver reads rendered messages, not template source
        context["samples"] = approval_samples(db_session, campaign, base_url=settings.base_url, now=now(),
                                              as_sent=channel_info(campaign.channel).as_sent)
    if campaign.status in BEFORE_SENDING:
        context["estimate"] = campaign_estimate(campaign.id)
    if campaign.kind == "event_notice" and campaign.fallback_of_id is None:
        context["fallback"] = fallback_of(db_session, campaign.id)
        context["fallback_templates"] = list_templates(db_session, channel=OTHER_CHANNEL[campaign.channel])
        if campaign.fallback_template_id is not None:  # chosen before sending: the scheduler sends it
            at = planned_fallback_at(db_session, campaign)
            context["planned_fallback"] = {
                "template": get_template(db_session, campaign.fallback_template_id),
                "minutes": campaign.fallback_after_minutes, "at": at,
                "wait": waiting_words((at - now()).total_seconds()) if at is not None and at > now() else ""}
    return context


def control_fields(values: Mapping[str, str]) -> dict[str, str]:
    """The new-campaign form's fields for kind, segment, operational and frequency caps, as typed."""
    return {key: values.get(key, "").strip() for key in
            ("kind", "segment_id", "operational", "ignore_caps", "cap_messages", "cap_days", "fallback_template_id",
             "fallback_after_minutes")}


def control_options(form: Mapping[str, str]) -> dict[str, Any]:
    """create_campaign's keyword arguments from control_fields; raises Invalid naming a field that is not a number."""
    options: dict[str, Any] = {"operational": form["operational"] == "1"}
    numbers = ["segment_id", "cap_messages", "cap_days"]
    if form["kind"] == "event_notice" and form["fallback_template_id"]:  # minutes alone, without a template: no plan
        numbers += ["fallback_template_id", "fallback_after_minutes"]
    for key in numbers:
        if form[key]:
            try:
                options[key] = int(form[key])
            except ValueError:
                raise Invalid(_("Enter a whole number."), field=key) from None
    if form["kind"] != "event_notice":  # notices ignore caps always
        options["ignore_caps"] = form["ignore_caps"] == "1"
    elif "cap_messages" in options or "cap_days" in options:
        options.pop("cap_messages", None)
        options.pop("cap_days", None)
    return options


def segment_options(db_session: Any) -> list[tuple[Any, str]]:
    return [("", _("No segment: everyone in the audience"))] + [
        (segment.id, segment.name) for segment in list_segments(db_session)]


def exclusion_label(code: str) -> str:
    """Why recipients are left out, in the reader's language (codes from campaigns/audience/materialise.py, caps.py and
    duplicates.py)."""
    return {"no_address": _("no address"), "opted_out": _("opted out"), "suppression_list": _("suppression list"),
            "frequency_cap": _("frequency cap"),
            "duplicate_address": _("same address as another contact")}.get(code, code)


def campaign_estimate(campaign_id: int):
    """The estimate with the configured price, cap and the channel's rate (shared by the page and the API)."""
    settings = config()
    campaign = get_campaign(get_session(), campaign_id)
    channel = settings.channels[campaign.channel]
    # At the next firing of its schedule (or now), per recipient zone and quiet hours (campaigns/firing.py).
    timing, at = planned_timing(get_session(), campaign, defaults=ScheduleDefaults.from_config(settings), now=now())
    return estimate_campaign(get_session(), campaign_id, now=at, price=channel.price, currency=settings.currency,
                             rate=channel_info(campaign.channel).rate or "10/second",
                             cap=FrequencyCap(settings.cap_messages, settings.cap_days), timing=timing,
                             tracking=settings.tracking, base_url=settings.base_url,
                             provider=channel_info(campaign.channel).provider,
                             as_sent=channel_info(campaign.channel).as_sent, feb29=settings.feb29_birthdays)


def calendar_estimate(campaign: Campaign):
    """The estimate the send calendar and the dashboard lay on each firing: as campaign_estimate, counted at
    now for the audience and the price, without the send window or the names (campaigns/send_calendar.py)."""
    settings = config()
    channel = settings.channels[campaign.channel]
    info = channel_info(campaign.channel)
    return estimate_campaign(get_session(), campaign.id, now=now(), price=channel.price, currency=settings.currency,
                             rate=info.rate or "10/second", cap=FrequencyCap(settings.cap_messages, settings.cap_days),
                             tracking=settings.tracking, base_url=settings.base_url, provider=info.provider,
                             as_sent=info.as_sent, feb29=settings.feb29_birthdays, names=False)


def _back(campaign_id: int):
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id), 303)


def _comment() -> str:
    return request.form.get("comment", "").strip()


@bp.post("/campaigns/<int:campaign_id>/submit")
def submit(campaign_id: int):
    submit_for_approval(get_session(), campaign_id, user=current_user, now=now(), comment=_comment())
    flash(_("Submitted for approval. An approver will approve or reject it."), "success")
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/approve")
@approval_view
def approve(campaign_id: int):
    approve_campaign(get_session(), campaign_id, user=current_user, now=now(), comment=_comment(),
                     allow_self_approval=config().allow_self_approval)
    flash(_("Approved. The campaign can be sent now, or goes out at its scheduled time."), "success")
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/reject")
@approval_view
def reject(campaign_id: int):
    try:
        reject_campaign(get_session(), campaign_id, user=current_user, now=now(), comment=_comment())
    except HeraldError as exc:
        flash(exc.message if exc.field != "comment" else
              _("Say why you reject the campaign, so its author knows what to change."), "error")
        return _back(campaign_id)
    flash(_("Rejected. The campaign is a draft again, with your comment."), "success")
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/pause")
def pause(campaign_id: int):
    pause_campaign(get_session(), campaign_id, user_id=current_user.id, now=now(), comment=_comment())
    flash(_("Paused. No new messages go out until you resume; those already with the provider finish."),
          "success")
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/resume")
def resume(campaign_id: int):
    resume_campaign(get_session(), campaign_id, user_id=current_user.id, now=now(), comment=_comment())
    _wake()
    flash(_("Resumed. Sending continues where it stopped."), "success")
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/cancel")
def cancel(campaign_id: int):
    cancelled = cancel_campaign(get_session(), campaign_id, now=now(), user_id=current_user.id, comment=_comment())
    flash(_("Cancelled. %(count)s messages not yet sent will not be sent.", count=cancelled), "success")
    return _back(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/fallback")
def fallback(campaign_id: int):
    db_session = get_session()
    campaign = get_campaign(db_session, campaign_id)
    try:
        template_id = int(request.form.get("template_id", ""))
        minutes = int(request.form.get("after_minutes", DEFAULT_FALLBACK_MINUTES))
    except ValueError:
        flash(_("Pick a template for the fallback channel and a number of minutes."), "error")
        return _back(campaign_id)
    description, dry_run = describe_channel(config(), OTHER_CHANNEL[campaign.channel])
    made = resend_undelivered(db_session, campaign_id, template_id=template_id, after_minutes=minutes, now=now(),
                              channel_description=description, dry_run=dry_run, user_id=current_user.id)
    _wake()
    flash(_("Re-sending to %(count)s contacts through the fallback channel.", count=made.recipients), "success")
    return redirect(url_for("campaigns.detail", campaign_id=made.campaign.id), 303)


@bp.get("/campaigns/<int:campaign_id>/estimate")
def estimate(campaign_id: int):
    return jsonify(campaign_estimate(campaign_id).to_dict())


def _wake() -> None:
    wake = current_app.extensions.get("herald.wake")
    if wake is not None:
        wake()  # the embedded sender starts now instead of at its next poll
