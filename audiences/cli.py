"""`herald contacts …` commands."""

from __future__ import annotations

from pathlib import Path

import click

from audiences import count_contacts, import_contacts, write_error_file
from core.cli import Context, cli, echo_json, pass_context
from core.clock import SystemClock
from core.errors import HeraldError


@cli.group()
def contacts() -> None:
    """Contacts: import and count."""


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_name", default=None, help="Also add every imported contact to this list (made if new).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole import report as JSON.")
@pass_context
def contacts_import(obj: Context, file: Path, list_name: str | None, as_json: bool) -> None:
    """Import contacts from a CSV file. Bad rows are reported and written to an error file; good rows land."""
    config = obj.config
    with obj.database.session() as session, file.open("rb") as stream:
        try:
            report = import_contacts(session, stream, filename=file.name, default_region=config.default_region,
                                     list_name=list_name, now=SystemClock().now())
        except HeraldError as exc:
            raise click.ClickException(f"{file}: {exc.message}") from None
    error_file = None
    if report.rejected:
        error_file = write_error_file(report, config.data_dir / "imports" / f"{file.stem}.errors.csv")
    if as_json:
        data = report.to_dict()
        data["error_file"] = str(error_file) if error_file else None
        echo_json(data)
        return
    for row in report.rejected[:20]:
        click.echo(f"  row {row.row}: {row.reason}", err=True)
    if len(report.rejected) > 20:
        click.echo(f"  … and {len(report.rejected) - 20} more rejected rows", err=True)
    line = (f"{file.name}: {report.imported} imported, {report.updated} updated, {report.skipped} skipped, "
            f"{len(report.rejected)} rejected")
    if error_file:
        line += f" — rejected rows with reasons in {error_file}"
    click.echo(line)


@contacts.command("count")
@click.option("--list-id", type=int, default=None)
@pass_context
def contacts_count(obj: Context, list_id: int | None) -> None:
    """Print how many contacts there are (in all, or in one list)."""
    with obj.database.session() as session:
        click.echo(count_contacts(session, list_id))
