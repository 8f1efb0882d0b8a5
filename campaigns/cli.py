"""`herald campaigns …` and `herald report` commands."""

from __future__ import annotations

import time

import click

from campaigns.reports import campaign_report, campaign_status
from campaigns.sender import send_campaign_now, send_until_idle
from core.cli import Context, cli, echo_json, pass_context
from core.clock import SystemClock
from core.errors import HeraldError


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
            data = campaign_report(session, campaign_id).to_dict()
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
    if fmt == "json":
        echo_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:>14}: {value}")
