"""The `herald` console entry point: assembles every package's commands and adds serve, demo, worker.

It lives in web because only the top layer may import every package (DESIGN §2).
"""

from __future__ import annotations

import logging
import os
import signal
import sys

import click

import audiences.cli  # noqa: F401  (registers `herald contacts`)
import campaigns.cli  # noqa: F401  (registers `herald campaigns`, `herald report`)
import campaigns.results.conversions_cli  # noqa: F401  (registers `herald conversions`, `herald contacts rfm`)
import campaigns.schedule_cli  # noqa: F401  (registers `herald campaigns schedule|next|runs`)
from core.cli import Context, cli, pass_context
from core.clock import SystemClock
from core.config import ConfigError

log = logging.getLogger("herald")


@cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when there are contacts already (used by `make run`).")
@click.option("--contacts", "count", default=300, show_default=True)
@pass_context
def demo(obj: Context, if_empty: bool, count: int) -> None:
    """Seed demo contacts, templates and a draft campaign; create the first admin if there is none."""
    from campaigns.demo import has_contacts, seed_demo
    from core.ids import new_token
    from core.users import count_users, create_user

    with obj.database.session() as session:
        if count_users(session) == 0:
            password = new_token(9)
            create_user(session, email="admin@example.com", password=password, role="admin", name="Admin")
            click.secho(f"First-run admin login: admin@example.com / {password}", fg="green", bold=True)
            click.echo("  (shown once; change it under Users, or `herald user password admin@example.com`)")
        if if_empty and has_contacts(session):
            click.echo("demo data: skipped, there are contacts already")
            return
        data = seed_demo(session, now=SystemClock().now(), contacts=count)
    click.echo(f"demo data: {data.contacts} contacts, list {data.list_id}, templates {data.sms_template_id} (SMS) "
               f"and {data.email_template_id} (email), draft campaign {data.campaign_id}")


@cli.command("serve")
@click.option("--host", default=None, help="Default: [server] host.")
@click.option("--port", type=int, default=None, help="Default: [server] port.")
@click.option("--threads", type=int, default=8, show_default=True, help="Web request threads.")
@pass_context
def serve(obj: Context, host: str | None, port: int | None, threads: int) -> None:
    """Serve the UI and API, with the scheduler and sender running in this process (embedded mode)."""
    import waitress

    from core.migrate import current_revision
    from scheduler import EmbeddedRunner
    from web.app import create_app

    config = obj.config
    if current_revision(str(config.database_url)) is None:
        raise click.ClickException("the database has no schema yet — run `herald db upgrade` first")
    host = host or config.server_host
    port = port or config.server_port
    app = create_app(config, database=obj.database)
    runner = None
    if config.sender_mode == "embedded":
        runner = EmbeddedRunner(config, obj.database).start()
        app.extensions["herald.wake"] = runner.wake
    else:
        from scheduler.celery_app import configure, wake_workers

        configure(config, obj.database)
        app.extensions["herald.wake"] = wake_workers
    _print_banner(obj, host, port, runner is not None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="Herald")
    finally:
        if runner is not None:
            runner.stop()


@cli.command("worker")
@click.option("--threads", type=int, default=None, help="Sender threads in this worker (default: [sender] threads).")
@pass_context
def worker(obj: Context, threads: int | None) -> None:
    """Scaled mode: a Celery worker that sends due messages (broker: [celery] broker_url)."""
    from scheduler.celery_app import QUEUE, configure

    try:
        app = configure(obj.config, obj.database)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    # A node name per process, so several workers on one machine are told apart in logs and `celery inspect`.
    app.worker_main(["worker", "--pool=threads", f"--concurrency={threads or obj.config.sender_threads}",
                     "-Q", QUEUE, "--loglevel=INFO", "--without-gossip", "--without-mingle",
                     f"--hostname=herald-{os.getpid()}@%h"])


@cli.command("scheduler")
@click.option("--standby-poll-seconds", type=float, default=5.0, show_default=True,
              help="While another scheduler leads, try to take over this often.")
@pass_context
def scheduler_command(obj: Context, standby_poll_seconds: float) -> None:
    """Scaled mode: the scheduler process; wakes Celery workers when messages are due and runs housekeeping.

    Only one leads (a PostgreSQL advisory lock); start a second on another machine and it stands by,
    taking over when the first dies.
    """
    from scheduler.standalone import LeadershipLost, run_scheduler

    try:
        run_scheduler(obj.config, obj.database, standby_poll_seconds=standby_poll_seconds)
    except LeadershipLost as exc:
        raise click.ClickException(str(exc)) from None
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


def _print_banner(obj: Context, host: str, port: int, embedded: bool) -> None:
    from channels import open_channel
    from core.users import count_users

    config = obj.config
    click.secho(f"Herald is serving on http://{host}:{port}", fg="green", bold=True)
    with obj.database.session() as session:
        if count_users(session) == 0:
            click.echo(f"  No users yet: open http://{host}:{port}/setup to create the first admin.")
        else:
            click.echo("  Log in with your user (first run: admin@example.com, password printed by `herald demo`).")
    for name, channel_config in config.channels.items():
        channel = open_channel(str(channel_config.url), from_address=channel_config.from_address)
        note = " — DRY RUN: messages are written to files, nothing is delivered" if channel.dry_run else ""
        click.echo(f"  {name} channel: {channel.describe()}{note}")
        channel.close()
    from sqlalchemy.engine import make_url

    click.echo(f"  database: {make_url(str(config.database_url)).render_as_string(hide_password=True)}")
    click.echo("  sender: " + (f"{config.sender_threads} threads in this process" if embedded
                               else "Celery workers (`herald worker`)")
               + ("; scheduler in this process" if embedded and config.scheduler_enabled
                  else "; no scheduler here (run `herald scheduler`)" if not embedded else ""))


def main() -> None:
    cli(prog_name="herald")


if __name__ == "__main__":
    main()
