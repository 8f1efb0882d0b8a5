"""`herald conversions import FILE` and `herald contacts rfm`."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner
from sqlalchemy import func, select

from campaigns.models import Conversion
from tests.campaigns import engagement_factories as f


def herald(config, *args: str):
    from web.cli import cli

    env = {"HERALD_DATABASE_URL": str(config.database_url), "HERALD_DATA_DIR": str(config.data_dir),
           "HERALD_ENV": "test", "HERALD_SCHEDULER_ENABLED": "false", "HERALD_CURRENCY_RATES": "EUR=1.10"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_import_prints_what_landed_and_each_bad_line(config, session, tmp_path):
    buyer = f.contact(session, now=datetime(2025, 1, 1, tzinfo=UTC))
    path = tmp_path / "orders.csv"
    path.write_text(f"order_id,email,amount,currency,time\n"
                    f"1,{buyer.email},10,EUR,2025-06-01\n"
                    f"2,{buyer.email},5,GBP,2025-06-01\n")
    result = herald(config, "conversions", "import", str(path))
    assert result.exit_code == 1  # some rows were refused: scripts can tell
    summary = "orders.csv: 1 recorded (code 0, click 0, receipt 0, none 1), 0 already recorded, 1 rejected"
    assert summary in result.output
    assert 'line 3: currency "GBP" has no exchange rate' in result.output
    again = herald(config, "conversions", "import", str(path), "--format", "json")
    assert '"duplicates": 1' in again.output
    assert session.scalar(select(func.count()).select_from(Conversion)) == 1


def test_import_of_an_unreadable_file_says_why(config, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result = herald(config, "conversions", "import", str(path))
    assert result.exit_code == 1 and "empty.csv is empty" in result.output


def test_rfm_command(config, session):
    result = herald(config, "contacts", "rfm")
    assert result.exit_code == 0 and result.output.startswith("RFM: scored 0 contacts")
