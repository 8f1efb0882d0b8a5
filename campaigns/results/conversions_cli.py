"""`herald conversions import FILE` and `herald contacts rfm`."""

from __future__ import annotations

from pathlib import Path

import click

from audiences.cli import contacts
from campaigns.results.conversion_import import import_conversions
from campaigns.results.conversions import ConversionSettings
from campaigns.results.rfm import score_contacts
from core.cli import Context, cli, echo_json, pass_context
from core.clock import SystemClock
from core.errors import HeraldError

SHOWN_REJECTIONS = 50


@cli.group()
def conversions() -> None:
    """Conversions: purchases credited to campaigns."""


@conversions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
def conversions_import(obj: Context, file: Path, fmt: str) -> None:
    """Import purchases from a CSV or .xlsx file.

    Columns (English or Chinese headers): order_id, amount, currency (default [app] currency),
    occurred_at (default now; without a zone in [app] default_timezone), external_id / email / phone
    (whose purchase), product, category, campaign_code. The same order id is recorded once, however
    often it is imported. Bad rows are listed with their line and reason; the others are recorded.
    """
    settings = ConversionSettings.from_config(obj.config)
    with obj.database.session() as session, file.open("rb") as stream:
        try:
            report = import_conversions(session, stream, filename=file.name, settings=settings,
                                        now=SystemClock().now(), limits=obj.config.imports)
        except HeraldError as exc:
            raise click.ClickException(exc.message) from None
    if fmt == "json":
        echo_json(report.to_dict())
        return
    rules = ", ".join(f"{rule} {count}" for rule, count in report.attribution.items())
    click.echo(f"{file.name}: {report.recorded} recorded ({rules}), {report.duplicates} already recorded, "
               f"{len(report.rejected)} rejected")
    for rejected in report.rejected[:SHOWN_REJECTIONS]:
        click.echo(f"  line {rejected.line}: {rejected.reason}", err=True)
    if len(report.rejected) > SHOWN_REJECTIONS:
        click.echo(f"  … and {len(report.rejected) - SHOWN_REJECTIONS} more (use --format json for all)", err=True)
    if report.rejected:
        raise SystemExit(1)


@contacts.command("rfm")
@pass_context
def contacts_rfm(obj: Context) -> None:
    """Recompute RFM scores from conversions now and mark dormant contacts ([rfm] dormant_days)."""
    with obj.database.session() as session:
        result = score_contacts(session, now=SystemClock().now(), dormant_days=obj.config.dormant_days)
    click.echo(f"RFM: {result}")
