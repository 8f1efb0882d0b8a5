"""One report, whoever asks: the page's JSON export, the API and `herald report` give the same figures, in
the workspace currency at the configured exchange rates."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from campaigns.delivery.costs import add_fixed_cost
from tests.campaigns.factories import make_contact, start_campaign
from tests.conftest import make_config


@pytest.fixture
def config(tmp_path, db_url):
    # Money in yuan; a euro is worth 7.8 of them.
    return make_config(tmp_path, db_url, HERALD_CURRENCY="CNY", HERALD_CURRENCY_RATES="EUR=7.8")


def herald(config, *args: str):
    from web.cli import cli

    env = {"HERALD_DATABASE_URL": str(config.database_url), "HERALD_DATA_DIR": str(config.data_dir),
           "HERALD_ENV": "test", "HERALD_SCHEDULER_ENABLED": "false", "HERALD_CURRENCY": "CNY",
           "HERALD_CURRENCY_RATES": "EUR=7.8", "HERALD_CHANNELS_SMS_URL": str(config.channels["sms"].url),
           "HERALD_CHANNELS_EMAIL_URL": str(config.channels["email"].url)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_the_command_line_page_and_api_report_a_foreign_fixed_cost_at_the_configured_rate(
        backend, config, database, clock, logged_in_client, api_token):
    with database.session() as session:
        make_contact(session, now=clock.now())
        campaign, _run = start_campaign(session, now=clock.now())
        add_fixed_cost(session, campaign.id, label="Agency", amount="10.00", currency="EUR", now=clock.now())
        campaign_id = campaign.id

    cli = json.loads(herald(config, "report", str(campaign_id), "--format", "json").output)
    assert cli["currency"] == "CNY"
    assert cli["summary"]["fixed_cost"] == "78.00"
    assert cli["unconverted_costs"] == {}
    assert not [note for note in cli["notes"] if "exchange rate" in note]

    page = json.loads(logged_in_client.get(f"/reports/campaigns/{campaign_id}.json").data)
    api = logged_in_client.get(f"/api/v1/campaigns/{campaign_id}/report",
                               headers={"Authorization": f"Bearer {api_token()}"}).get_json()
    assert page == api == cli
