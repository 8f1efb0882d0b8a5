"""The `herald` command's root group and the commands that need only core: db and user.

Each package adds its own commands (audiences/cli.py, campaigns/cli.py, web/cli.py); web/cli.py
assembles them into `main`, the console entry point, because only the top layer may import all.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from core.config import Config, ConfigError, load_config
from core.db import Database


class Context:
    """Loads config and the database once, on first use, so `herald --help` needs neither."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None
        self._database: Database | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(f"configuration error: {exc}") from None
        return self._config

    @property
    def database(self) -> Database:
        if self._database is None:
            self._database = Database(str(self.config.database_url))
        return self._database

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option("--config", "config_path", envvar="HERALD_CONFIG", default=None, metavar="PATH",
              help="config.toml to read (default: ./config.toml; env HERALD_CONFIG).")
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Herald: SMS and email campaigns with honest numbers."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not verbose:
        # Their INFO lines (plugin set-up, "job added tentatively") bury Herald's own start-up message.
        for chatty in ("alembic", "apscheduler"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    ctx.obj = Context(config_path)
    ctx.call_on_close(ctx.obj.close)


def echo_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


# ------------------------------------------------------------------ db
@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@pass_context
def db_upgrade(obj: Context, revision: str) -> None:
    """Create or migrate the database schema."""
    from core.migrate import current_revision, upgrade_database

    url = str(obj.config.database_url)
    before = current_revision(url)
    upgrade_database(url, revision)
    after = current_revision(url)
    if before == after:
        click.echo(f"database is up to date (revision {after})")
    else:
        click.echo(f"database migrated from {before or 'empty'} to {after}")


@db.command("current")
@pass_context
def db_current(obj: Context) -> None:
    """Print the schema revision."""
    from core.migrate import current_revision

    click.echo(current_revision(str(obj.config.database_url)) or "empty (run `herald db upgrade`)")


# ------------------------------------------------------------------ user
@cli.group()
def user() -> None:
    """Herald users: create, set a password, issue an API token."""


@user.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "marketer", "analyst"]), default="marketer", show_default=True)
@click.option("--name", default="")
@click.option("--password", default=None, help="Default: generate one and print it.")
@pass_context
def user_create(obj: Context, email: str, role: str, name: str, password: str | None) -> None:
    """Create a user who can log in to the UI."""
    from core.ids import new_token
    from core.users import UserError, create_user

    generated = password is None
    password = password or new_token(12)
    with obj.database.session() as session:
        try:
            created = create_user(session, email=email, password=password, role=role, name=name)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"created {created.role} {created.email}" + (f" with password {password}" if generated else ""))


@user.command("password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@pass_context
def user_password(obj: Context, email: str, password: str) -> None:
    """Set a user's password; every login of theirs ends (a forgotten or stolen session too)."""
    from core.users import UserError, find_user_by_email, set_password

    with obj.database.session() as session:
        found = find_user_by_email(session, email)
        if found is None:
            raise click.ClickException(f"no user with email {email}; create one with `herald user create {email}`")
        try:
            set_password(session, found, password)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"password changed for {email}; they are logged out on every browser")


@user.command("token")
@click.argument("email")
@pass_context
def user_token(obj: Context, email: str) -> None:
    """Issue a new API token for a user (replaces the old one) and print it."""
    from core.users import find_user_by_email, issue_api_token

    with obj.database.session() as session:
        found = find_user_by_email(session, email)
        if found is None:
            raise click.ClickException(f"no user with email {email}; create one with `herald user create {email}`")
        token = issue_api_token(session, found)
    click.echo(token)
