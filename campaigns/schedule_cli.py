"""`herald campaigns schedule|runs|next`: when a campaign sends, from the command line.

The same domain calls as the campaign page and /api/v1/campaigns/<id>/schedule: the options become
the schedule object the API takes, validated by campaigns/schedules.py (Schedule.from_dict), saved
by set_campaign_schedule and armed by schedule_campaign (draft -> scheduled).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from campaigns.cli import _user, campaigns
from campaigns.firing import next_firings, schedule_campaign, set_campaign_schedule
from campaigns.lifecycle import get_campaign
from campaigns.results.report_runs import RunReport, run_report, run_reports
from campaigns.schedules import Schedule, ScheduleDefaults, schedule_of
from core.cli import Context, echo_json, pass_context
from core.clock import SystemClock
from core.errors import HeraldError, Invalid

# Which option says each schedule field, so a refusal names what to change on the command line.
OPTION_OF = {"send_at": "--at", "cron": "--cron", "end_date": "--until", "max_runs": "--runs",
             "time_of_day": "--time", "date_source": "--date", "offset_days": "--offset-days", "feb29": "--feb29",
             "holiday": "--holiday", "country": "--country", "time_zone": "--zone", "quiet_hours": "--quiet-hours",
             "per_recipient": "--recipient-zone"}
# The options that only mean something for some kinds, and those kinds.
ONLY_FOR = {"--until": ("recurring",), "--runs": ("recurring",), "--offset-days": ("date_rule",),
            "--feb29": ("date_rule",), "--country": ("holiday",), "--time": ("date_rule", "holiday"),
            "--recipient-zone": ("at", "date_rule", "holiday")}


def schedule_data(*, at: str | None, cron: str | None, birthday: bool, date_source: str | None,
                  holiday: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """The schedule object (as the API takes it) the options describe. Raises click.UsageError when the
    options say no kind, two kinds, or an option the chosen kind does not use."""
    kinds = {"--at": ("at", at), "--cron": ("recurring", cron), "--birthday": ("date_rule", birthday or None),
             "--date": ("date_rule", date_source), "--holiday": ("holiday", holiday)}
    chosen = [(option, kind) for option, (kind, value) in kinds.items() if value]
    if not chosen:
        raise click.UsageError("say when it sends: --at, --cron, --birthday, --date or --holiday "
                               "(or --clear to send it by hand)")
    if len(chosen) > 1:
        raise click.UsageError(f"give one of {' / '.join(o for o, _ in chosen)}, not both")
    option, kind = chosen[0]
    for name, value in given.items():
        flag = OPTION_OF[name]
        if value not in (None, False) and flag in ONLY_FOR and kind not in ONLY_FOR[flag]:
            raise click.UsageError(f"{flag} does not apply to {option}; it goes with "
                                   + " or ".join(o for o, (k, _) in kinds.items() if k in ONLY_FOR[flag]))
    data: dict[str, Any] = {"kind": kind}
    if kind == "at":
        data["send_at"] = at
    elif kind == "recurring":
        data["cron"] = cron
    elif kind == "date_rule":
        data["date_source"] = "birthday" if birthday else date_source
    else:
        data["holiday"] = holiday
    data.update({name: value for name, value in given.items() if value not in (None, False)})
    return data


@campaigns.command("schedule")
@click.argument("campaign_id", type=int)
@click.option("--at", metavar="YYYY-MM-DDTHH:MM", help="Once, at this local time.")
@click.option("--cron", metavar="RULE", help='Recurring, on a 5-field cron rule: "0 10 * * 1" is every Monday 10:00.')
@click.option("--until", "end_date", metavar="YYYY-MM-DD", help="--cron: the last day (inclusive).")
@click.option("--runs", "max_runs", type=int, help="--cron: at most this many runs.")
@click.option("--birthday", is_flag=True, help="On each contact's birthday (once per person per year).")
@click.option("--date", "date_source", metavar="SOURCE",
              help="On each contact's date: date:KIND (an important date) or attribute:NAME (a custom date field).")
@click.option("--offset-days", type=int, help="--birthday/--date: -3 sends three days before the date.")
@click.option("--feb29", type=click.Choice(["feb28", "mar1"]),
              help="--birthday/--date: when 29 February dates are greeted in other years (default: config).")
@click.option("--holiday", metavar="NAME",
              help='Every year on this holiday, e.g. "Chinese New Year (Spring Festival)".')
@click.option("--country", metavar="CC", help="--holiday: the country's calendar (default: [app] default_region).")
@click.option("--time", "time_of_day", metavar="HH:MM", help="--birthday/--date/--holiday: the time of day "
              "(default 09:00).")
@click.option("--zone", "time_zone", metavar="ZONE", help="The sender's time zone (default: [app] default_timezone).")
@click.option("--recipient-zone", "per_recipient", is_flag=True,
              help="The time is each recipient's own local time (not with --cron).")
@click.option("--quiet-hours", metavar="HH:MM-HH:MM|off", help="Recipient-local quiet hours (default: config).")
@click.option("--clear", is_flag=True, help="Remove the schedule: the campaign is sent by hand (Send now).")
@click.option("--save-only", is_flag=True, help="Save the schedule on the draft without arming it.")
@click.option("--as", "email", help="The user scheduling it (recorded in the campaign's history).")
@pass_context
def campaigns_schedule(obj: Context, campaign_id: int, at: str | None, cron: str | None, end_date: str | None,
                       max_runs: int | None, birthday: bool, date_source: str | None, offset_days: int | None,
                       feb29: str | None, holiday: str | None, country: str | None, time_of_day: str | None,
                       time_zone: str | None, per_recipient: bool, quiet_hours: str | None, clear: bool,
                       save_only: bool, email: str | None) -> None:
    """Give a draft its schedule and arm it: from then on the scheduler fires it. Without a --at, --cron,
    --birthday, --date or --holiday it arms the schedule the draft has (saved on the page or with --save-only).

    \b
      herald campaigns schedule 7 --at 2027-03-14T09:00 --recipient-zone
      herald campaigns schedule 7 --cron "0 10 * * 1" --until 2027-06-30
      herald campaigns schedule 7 --birthday --time 09:00 --recipient-zone
      herald campaigns schedule 7 --date date:contract_renewal --offset-days -3 --time 10:00
      herald campaigns schedule 7 --holiday "Chinese New Year (Spring Festival)" --country CN --time 09:00
    """
    config = obj.config
    now = SystemClock().now()
    says_when = any((at, cron, birthday, date_source, holiday))
    schedule: Schedule | None = None
    if clear and says_when:
        raise click.UsageError("--clear removes the schedule; give it alone")
    if says_when:
        if (birthday or date_source or holiday) and time_of_day is None:
            time_of_day = "09:00"
        if holiday and country is None:
            country = config.default_region
        given = {"end_date": end_date, "max_runs": max_runs, "offset_days": offset_days, "feb29": feb29,
                 "country": country, "time_of_day": time_of_day, "time_zone": time_zone,
                 "per_recipient": per_recipient, "quiet_hours": quiet_hours}
        data = schedule_data(at=at, cron=cron, birthday=birthday, date_source=date_source, holiday=holiday,
                             given=given)
        try:
            schedule = Schedule.from_dict(data, today=now.date(), defaults=ScheduleDefaults.from_config(config))
        except Invalid as exc:
            option = OPTION_OF.get(exc.field or "", "")
            if exc.field == "end_date" and end_date is None:
                option = "--until or --runs"  # a recurring schedule without an end: either one gives it
            raise click.ClickException(f"{option}: {exc.message}" if option else exc.message) from None
    with obj.database.session() as session:
        user = _user(session, email)
        try:
            if says_when or clear:
                campaign = set_campaign_schedule(session, campaign_id, schedule, now=now)
            else:  # no new schedule: arm the one the draft has (the campaign page's Schedule button)
                campaign = get_campaign(session, campaign_id)
                schedule = schedule_of(campaign.schedule)
                if schedule is None:
                    schedule_data(at=None, cron=None, birthday=False, date_source=None, holiday=None, given={})
            if schedule is None:
                click.echo(f'campaign {campaign_id} "{campaign.name}" has no schedule: it is sent by hand')
                return
            click.echo(f'campaign {campaign_id} "{campaign.name}": {schedule.describe()}')
            if save_only:
                click.echo(f"saved as a draft; `herald campaigns schedule {campaign_id}` arms it")
                return
            if config.approval_required_for(campaign.kind):
                click.echo(f"saved; this workspace needs approval before a campaign sends: "
                           f"`herald campaigns submit {campaign_id} --as EMAIL` — once approved it fires on schedule")
                return
            campaign = schedule_campaign(session, campaign_id, now=now, user_id=user.id if user else None)
            upcoming = next_firings(session, campaign, now=now, count=1)
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
    first = f"; first firing {_utc(upcoming[0])}" if upcoming else ""
    click.echo(f"{campaign.status}{first} (see `herald campaigns next {campaign_id}`)")


@campaigns.command("next")
@click.argument("campaign_id", type=int)
@click.option("--count", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
def campaigns_next(obj: Context, campaign_id: int, count: int, fmt: str) -> None:
    """The campaign's next firings: when each run will be made, in UTC and in the sender's zone."""
    with obj.database.session() as session:
        try:
            campaign = get_campaign(session, campaign_id)
            firings = next_firings(session, campaign, now=SystemClock().now(), count=count)
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
        schedule = schedule_of(campaign.schedule)
        name, status = campaign.name, campaign.status
    if fmt == "json":
        echo_json({"campaign_id": campaign_id, "status": status,
                   "description": schedule.describe() if schedule else None,
                   "next_firings": [moment.isoformat() for moment in firings]})
        return
    if schedule is None:
        click.echo(f'campaign {campaign_id} "{name}" has no schedule: it sends when someone presses Send now; '
                   f"give it one with `herald campaigns schedule {campaign_id} --at/--cron/--birthday/--holiday …`")
        return
    click.echo(f'campaign {campaign_id} "{name}" [{status}]: {schedule.describe()}')
    if not firings:
        click.echo("no firing is left: the time has passed, the schedule has ended, or the campaign has finished")
    for index, moment in enumerate(firings, 1):
        click.echo(f"{index:>3}  {_utc(moment)}  {_local(schedule, moment)}")


@campaigns.command("runs")
@click.argument("campaign_id", type=int)
@click.option("--run", "run_id", type=int, help="Only this run, with its failures by reason.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
def campaigns_runs(obj: Context, campaign_id: int, run_id: int | None, fmt: str) -> None:
    """The campaign's runs, newest first: firing time, status, recipients, sent, delivered, failed, notes."""
    with obj.database.session() as session:
        try:
            get_campaign(session, campaign_id)
            runs = [run_report(session, campaign_id, run_id)] if run_id else run_reports(session, campaign_id)
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
    if fmt == "json":
        echo_json({"campaign_id": campaign_id, "items": [run.to_dict() for run in runs]})
        return
    if not runs:
        click.echo(f"campaign {campaign_id} has no runs yet; `herald campaigns next {campaign_id}` says when it fires")
        return
    click.echo(f"{'run':>6}  {'fired at (UTC)':<16}  {'status':<10} {'recipients':>10} {'sent':>8} "
               f"{'delivered':>9} {'failed':>7} {'unknown':>7} {'waiting':>7}  occasion / notes")
    for run in runs:
        click.echo(_run_line(run))
        if run.notes:
            click.echo(f"{'':>8}{run.notes}")
        for code, reason, n in run.failures:
            click.echo(f"{'':>8}failed {n}: {code or '-'} {reason or ''}".rstrip())


def _run_line(run: RunReport) -> str:
    fired = (run.fired_at or run.started_at).strftime("%Y-%m-%d %H:%M")
    dry = " (dry run)" if run.dry_run else ""
    return (f"{run.run_id:>6}  {fired:<16}  {run.status:<10} {run.recipients:>10} {run.sent:>8} {run.delivered:>9} "
            f"{run.failed:>7} {run.count('unknown'):>7} {run.waiting:>7}  {run.occasion_key}{dry}")


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _local(schedule: Schedule, moment: datetime) -> str:
    """The firing as the marketer thinks of it: the sender's local time, or the day and the time each
    recipient gets it at (a per-recipient firing happens when that day begins in the earliest zone)."""
    if schedule.per_recipient:
        local = schedule.local_time()
        return f"{schedule.day_of(moment):%Y-%m-%d %a} {local:%H:%M} in each recipient's time zone"
    return moment.astimezone(schedule.zone()).strftime(f"%Y-%m-%d %H:%M %a {schedule.time_zone}")
