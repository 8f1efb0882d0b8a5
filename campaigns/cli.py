"""`herald campaigns …` and `herald report` commands."""

from __future__ import annotations

import time
from functools import partial

import click

from campaigns.audience.caps import FrequencyCap
from campaigns.delivery.reconcile import SETTLE_SECONDS, reconcile_with_config
from campaigns.delivery.sender import describe_channel, send_campaign_now, send_until_idle
from campaigns.estimate import estimate_campaign
from campaigns.firing import planned_timing
from campaigns.lifecycle import cancel_campaign, get_campaign
from campaigns.notices import DEFAULT_FALLBACK_MINUTES, OTHER_CHANNEL, resend_undelivered
from campaigns.results.report_settings import ReportSettings
from campaigns.results.reports import campaign_report, campaign_status
from campaigns.schedules import ScheduleDefaults
from campaigns.states import (
    approve_campaign,
    list_transitions,
    pause_campaign,
    reject_campaign,
    resume_campaign,
    submit_for_approval,
)
from channels import ChannelConfigError, open_channel, text_as_sent
from core.cli import Context, cli, echo_json, pass_context
from core.clock import SystemClock
from core.errors import HeraldError
from core.users import find_user_by_email


@cli.group()
def campaigns() -> None:
    """Campaigns: send and follow them."""


@campaigns.command("send")
@click.argument("campaign_id", type=int)
@click.option("--wait/--no-wait", default=False,
              help="Also send the messages from this process and wait until none is left (default: leave them to "
                   "the running `herald serve` or workers).")
@pass_context
def campaigns_send(obj: Context, campaign_id: int, wait: bool) -> None:
    """Send a draft campaign now."""
    with obj.database.session() as session:
        try:
            run = send_campaign_now(session, campaign_id, config=obj.config, now=SystemClock().now())
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
        status = campaign_status(session, campaign_id)
    click.echo(f"campaign {campaign_id}: run {run.id} started, {status.total} recipients"
               + (" (dry run: messages are written to files, nothing is delivered)" if run.dry_run else ""))
    if wait:
        _send_until_done(obj, campaign_id)


def _send_until_done(obj: Context, campaign_id: int) -> None:
    handled = send_until_idle(obj.config, obj.database, SystemClock())
    with obj.database.session() as session:
        status = campaign_status(session, campaign_id)
    counts = " ".join(f"{name}={count}" for name, count in status.counts.items() if count)
    click.echo(f"handled {handled} messages; campaign {campaign_id} [{status.status}] {counts}")


@campaigns.command("status")
@click.argument("campaign_id", type=int)
@click.option("--watch", is_flag=True, help="Refresh every second until nothing is pending.")
@pass_context
def campaigns_status(obj: Context, campaign_id: int, watch: bool) -> None:
    """Counts by message status."""
    while True:
        with obj.database.session() as session:
            try:
                status = campaign_status(session, campaign_id)
            except HeraldError as exc:
                raise click.ClickException(exc.message) from None
        counts = " ".join(f"{name}={count}" for name, count in status.counts.items() if count)
        click.echo(f"campaign {campaign_id} [{status.status}] total={status.total} {counts}"
                   + (" (dry run)" if status.dry_run else ""))
        if not watch or not (status.counts.get("pending") or status.counts.get("sending")):
            return
        time.sleep(1)


@cli.command("report")
@click.argument("campaign_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
def report(obj: Context, campaign_id: int, fmt: str) -> None:
    """A campaign's report: recipients, sent, delivered, failed with reasons, cost."""
    with obj.database.session() as session:
        try:
            data = campaign_report(session, campaign_id, ReportSettings.from_config(obj.config)).to_dict()
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
    if fmt == "json":
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:>14}: {value}")


# ------------------------------------------------------------------ lifecycle controls (campaigns/states.py)
def _user(session, email: str | None):
    """The user named by --as, or None (the operator at the console, recorded as Herald)."""
    if not email:
        return None
    user = find_user_by_email(session, email)
    if user is None:
        raise click.ClickException(f"no user with email {email}; list them with `herald user list`")
    return user


def _control(obj: Context, campaign_id: int, action: str, email: str | None, comment: str) -> None:
    with obj.database.session() as session:
        user = _user(session, email)
        now = SystemClock().now()
        try:
            if action in ("approve", "reject", "submit"):
                if user is None:
                    raise click.ClickException(f"say who {action}s with --as EMAIL")
                if action == "approve":
                    approve_campaign(session, campaign_id, user=user, now=now, comment=comment,
                                     allow_self_approval=obj.config.allow_self_approval)
                else:
                    call = {"reject": reject_campaign, "submit": submit_for_approval}[action]
                    call(session, campaign_id, user=user, now=now, comment=comment)
            elif action == "cancel":
                cancelled = cancel_campaign(session, campaign_id, now=now, user_id=user.id if user else None,
                                            comment=comment)
                click.echo(f"{cancelled} messages not yet sent are cancelled")
            else:
                call = {"pause": pause_campaign, "resume": resume_campaign}[action]
                call(session, campaign_id, user_id=user.id if user else None, now=now, comment=comment)
            campaign = get_campaign(session, campaign_id)
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f'campaign {campaign_id} "{campaign.name}" is now {campaign.status}')


def _control_command(action: str, help_text: str) -> None:
    @campaigns.command(action, help=help_text)
    @click.argument("campaign_id", type=int)
    @click.option("--as", "email", help="The user making the change (required to submit, approve or reject).")
    @click.option("--comment", default="", help="Recorded in the campaign's history.")
    @pass_context
    def command(obj: Context, campaign_id: int, email: str | None, comment: str) -> None:
        _control(obj, campaign_id, action, email, comment)


for _action, _help in (("submit", "Submit a draft for approval."),
                       ("approve", "Approve a campaign waiting for approval (an approver or admin, --as EMAIL)."),
                       ("reject", "Reject a campaign back to draft; --comment says why."),
                       ("pause", "Pause a running campaign: no new messages go out."),
                       ("resume", "Resume a paused campaign."),
                       ("cancel", "Cancel a campaign: messages not yet sent are cancelled.")):
    _control_command(_action, _help)


@campaigns.command("history")
@click.argument("campaign_id", type=int)
@pass_context
def campaigns_history(obj: Context, campaign_id: int) -> None:
    """Every change of a campaign's status, with who and when."""
    with obj.database.session() as session:
        try:
            get_campaign(session, campaign_id)
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
        for t in list_transitions(session, campaign_id):
            click.echo(f"{t.at.isoformat()}  {t.from_status or '-':>16} -> {t.to_status:<16} "
                       f"{t.user_email or 'Herald'}  {t.comment}".rstrip())


@campaigns.command("estimate")
@click.argument("campaign_id", type=int)
@pass_context
def campaigns_estimate(obj: Context, campaign_id: int) -> None:
    """Before sending: recipients after consent, suppression and caps; SMS segments and cost; send window."""
    config = obj.config
    with obj.database.session() as session:
        try:
            campaign = get_campaign(session, campaign_id)
            channel = open_channel(str(config.channels[campaign.channel].url),
                                   from_address=config.channels[campaign.channel].from_address)
            rate, provider = channel.rate, getattr(channel, "name", "")
            as_sent = partial(text_as_sent, channel)  # pure: usable once the channel is closed
            channel.close()
            # At the next firing of its schedule (or now), per recipient zone and quiet hours.
            timing, at = planned_timing(session, campaign, defaults=ScheduleDefaults.from_config(config),
                                        now=SystemClock().now())
            estimate = estimate_campaign(session, campaign_id, now=at, price=config.channels[campaign.channel].price,
                                         currency=config.currency, rate=rate,
                                         cap=FrequencyCap(config.cap_messages, config.cap_days), timing=timing,
                                         tracking=config.tracking, base_url=config.base_url, provider=provider,
                                         as_sent=as_sent, feb29=config.feb29_birthdays)
        except (HeraldError, ChannelConfigError) as exc:
            raise click.ClickException(getattr(exc, "message", str(exc))) from None
    echo_json(estimate.to_dict())


@campaigns.command("reconcile")
@click.argument("campaign_id", type=int)
@click.option("--settled-seconds", type=float, default=SETTLE_SECONDS, show_default=True,
              help="Ask only about messages unknown for at least this long: a request still on its way when its "
                   "sender stopped has reached the provider by then.")
@pass_context
def campaigns_reconcile(obj: Context, campaign_id: int, settled_seconds: float) -> None:
    """Ask the provider what became of the campaign's unknown messages, and settle them (sent or never received)."""
    with obj.database.session() as session:
        try:
            get_campaign(session, campaign_id)
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
    try:
        result = reconcile_with_config(obj.config, obj.database, SystemClock(), campaign_id=campaign_id,
                                       settled_seconds=settled_seconds)
    except ChannelConfigError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"campaign {campaign_id}: {result.summary()}")
    for line in result.by_channel():
        click.echo(f"  {line}")


@campaigns.command("fallback")
@click.argument("campaign_id", type=int)
@click.option("--template", "template_id", type=int, required=True, help="A template of the other channel.")
@click.option("--after-minutes", type=int, default=DEFAULT_FALLBACK_MINUTES, show_default=True,
              help="Re-send to recipients not delivered this long after their message went out.")
@click.option("--as", "email", help="The user making the re-send.")
@pass_context
def campaigns_fallback(obj: Context, campaign_id: int, template_id: int, after_minutes: int,
                       email: str | None) -> None:
    """Re-send an event notice through the other channel to everyone not yet delivered."""
    with obj.database.session() as session:
        user = _user(session, email)
        try:
            notice = get_campaign(session, campaign_id)
            description, dry_run = describe_channel(obj.config, OTHER_CHANNEL[notice.channel])
            made = resend_undelivered(session, campaign_id, template_id=template_id, after_minutes=after_minutes,
                                      now=SystemClock().now(), channel_description=description, dry_run=dry_run,
                                      user_id=user.id if user else None)
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"campaign {made.campaign.id} re-sends by {made.campaign.channel} to {made.recipients} contacts")
