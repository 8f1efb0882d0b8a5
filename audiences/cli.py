"""`herald contacts …` commands: import, export, count."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from audiences import count_contacts, import_contacts
from audiences.contacts import ContactSelection, list_lists
from audiences.export import FORMATS, export_contacts
from audiences.imports import ADDRESS_POLICIES, MODES, ImportReport
from audiences.segments import list_segments
from core.cli import Context, cli, echo_json, pass_context
from core.clock import SystemClock
from core.errors import HeraldError

SHOWN_REJECTS = 20


@cli.group()
def contacts() -> None:
    """Contacts: import, export and count."""


def _columns(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        header, sep, target = pair.partition("=")
        if not sep or not header.strip():
            raise click.BadParameter(f'"{pair}" is not HEADER=field, e.g. --column 手机=phone or '
                                     "--column 积分=attributes.points or --column 备注=ignore",
                                     param_hint="--column")
        out[header.strip()] = target.strip()
    return out


class _Bar:
    """A progress bar on a terminal, nothing when the output is a file or a pipe (scripts read the last line)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self._bar: Any = click.progressbar(length=1000, label=label, file=sys.stderr) if enabled else None
        self._at = 0
        if self._bar is not None:
            self._bar.__enter__()

    def __call__(self, report: ImportReport, fraction: float | None) -> None:
        if self._bar is None or fraction is None:
            return
        target = int(fraction * 1000)
        if target > self._at:
            self._bar.update(target - self._at)
            self._at = target

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _error_path(obj: Context, file: Path, now: datetime) -> Path:
    return obj.config.data_dir / "imports" / f"{file.stem}-{now:%Y%m%d-%H%M%S}.errors.csv"


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_name", default=None, help="Also add every imported contact to this list (made if new).")
@click.option("--mode", type=click.Choice(MODES), default="update", show_default=True,
              help="What a row does to a contact already in Herald (matched by external id, email, then phone): "
                   "update it, skip it, or reject the row (new-only).")
@click.option("--encoding", default=None, help="The CSV's encoding when detection gets it wrong: utf-8, gbk, gb18030, "
                                               "utf-16.")
@click.option("--column", "column", multiple=True, metavar="HEADER=FIELD",
              help="Map a column yourself: a contact field, name, tags, attributes.<name> or ignore. Repeatable.")
@click.option("--region", default=None, metavar="CC",
              help="The country of phone numbers written without +country code, e.g. CN (default: [app] "
                   "default_region, which follows [app] default_locale when not set).")
@click.option("--on-bad-address", type=click.Choice(ADDRESS_POLICIES), default="drop-field", show_default=True,
              help="A row with a bad email or phone: import it without that address and warn (drop-field), or "
                   "reject the whole row (reject-row).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole import report as JSON.")
@pass_context
def contacts_import(obj: Context, file: Path, list_name: str | None, mode: str, encoding: str | None,
                    column: tuple[str, ...], region: str | None, on_bad_address: str, as_json: bool) -> None:
    """Import contacts from a CSV or .xlsx file. Bad rows go to an error file with the reason; good rows land."""
    config = obj.config
    now = SystemClock().now()
    errors = _error_path(obj, file, now)
    bar = _Bar(f"importing {file.name}", enabled=sys.stderr.isatty() and not as_json)
    with obj.database.session() as session, file.open("rb") as stream:
        try:
            report = import_contacts(session, stream, filename=file.name,
                                     default_region=region or config.default_region, list_name=list_name, now=now,
                                     mode=mode, encoding=encoding, columns=_columns(column), error_file=errors,
                                     on_progress=bar, limits=config.imports, on_bad_address=on_bad_address)
        except HeraldError as exc:
            raise click.ClickException(f"{file}: {exc.message}") from None
        finally:
            bar.close()
    error_file = errors if report.rejected_count or report.warned_count else None
    if as_json:
        data = report.to_dict()
        data["error_file"] = str(error_file) if error_file else None
        echo_json(data)
        return
    for row in report.rejected[:SHOWN_REJECTS]:
        click.echo(f"  row {row.row}: {row.reason}", err=True)
    if report.rejected_count > SHOWN_REJECTS:
        click.echo(f"  … and {report.rejected_count - SHOWN_REJECTS} more rejected rows", err=True)
    for warned in report.warned[:SHOWN_REJECTS]:
        click.echo(f"  row {warned.row}: imported without {warned.field}: {warned.reason}", err=True)
    if report.warned_count > SHOWN_REJECTS:
        click.echo(f"  … and {report.warned_count - SHOWN_REJECTS} more rows imported without a bad address",
                   err=True)
    if report.duplicates_in_file:
        click.echo(f"  {report.duplicates_in_file} rows repeat a contact an earlier row of the file wrote "
                   f"(first: row {report.duplicates[0].row} repeats row {report.duplicates[0].first_row}); "
                   "they were merged", err=True)
    line = report.summary()
    if error_file:
        line += f" — rows to fix, with reasons, in {error_file}"
    click.echo(line)


def _find(session: Any, what: str, value: str | None, rows: list[tuple[int, str]]) -> int | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    for found_id, name in rows:
        if name == value:
            return found_id
    known = ", ".join(f'"{name}"' for _i, name in rows[:20]) or "none yet"
    raise click.ClickException(f'no {what} is named "{value}"; known: {known}')


@contacts.command("export")
@click.option("--segment", default=None, help="A saved segment, by name or id.")
@click.option("--list", "list_ref", default=None, help="A list, by name or id.")
@click.option("--search", default=None, help="Only contacts whose name, email or phone match.")
@click.option("--tag", default=None, help="Only contacts with this tag.")
@click.option("--columns", default=None, help="Comma-separated columns, e.g. name,email,phone,tags,attributes.points "
                                              "(default: id,name,email,phone,company,region,lifecycle_stage,"
                                              "value_tier,tags).")
@click.option("--format", "file_format", type=click.Choice(tuple(FORMATS)), default=None,
              help="csv or xlsx (default: from the output file's extension, else csv).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file to write (default: CSV to standard output).")
@pass_context
def contacts_export(obj: Context, segment: str | None, list_ref: str | None, search: str | None, tag: str | None,
                    columns: str | None, file_format: str | None, output: Path | None) -> None:
    """Export contacts (all, or a segment, a list, a search, a tag) to CSV or XLSX; formula cells neutralised."""
    file_format = file_format or ("xlsx" if output is not None and output.suffix.lower() == ".xlsx" else "csv")
    if file_format == "xlsx" and output is None:
        raise click.ClickException("an XLSX export needs a file: add -o contacts.xlsx")
    now = SystemClock().now()
    with obj.database.session() as session:
        selection = ContactSelection(
            search=search, tag=tag,
            segment_id=_find(session, "segment", segment, [(s.id, s.name) for s in list_segments(session)]),
            list_id=_find(session, "list", list_ref, [(found.id, found.name) for found, _n in list_lists(session)]))
        wanted = [c for c in (columns or "").split(",") if c.strip()]
        try:
            export = export_contacts(session, selection, columns=wanted, file_format=file_format, today=now.date())
            target: IO[bytes] = output.open("wb") if output is not None else sys.stdout.buffer
            try:
                for piece in export.chunks():
                    target.write(piece)
            finally:
                if output is not None:
                    target.close()
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
    if output is not None:
        click.echo(f"wrote {output}", err=True)


@contacts.command("count")
@click.option("--list-id", type=int, default=None)
@pass_context
def contacts_count(obj: Context, list_id: int | None) -> None:
    """Print how many contacts there are (in all, or in one list)."""
    with obj.database.session() as session:
        click.echo(count_contacts(session, list_id))
