"""[tracking], [currency.rates] and [rfm]: read from the file or the environment, refused with the key when wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.config import ConfigError, load_config


def test_rates_from_the_file_and_from_the_environment(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[app]\ncurrency = "cny"\n[currency.rates]\nusd = "7.1"\nEUR = 7.8\n[rfm]\ndormant_days = 90\n')
    config = load_config(path, {})
    assert config.currency == "CNY"
    assert config.currency_rates == {"USD": Decimal("7.1"), "EUR": Decimal("7.8")}
    assert config.dormant_days == 90
    config = load_config(path, {"HERALD_CURRENCY_RATES": "JPY=0.047, HKD=0.91"})
    assert config.currency_rates == {"JPY": Decimal("0.047"), "HKD": Decimal("0.91")}


def test_tracking_defaults_keep_opens_off_and_read_the_lists(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[tracking]\napple_proxy_networks = "17.0.0.0/8, 2a01:b740::/32"\n'
                    'scanner_user_agents = "Acme-Scan, ,Other"\n')
    tracking = load_config(path, {}).tracking
    assert (tracking.clicks, tracking.opens, tracking.sms_short_links, tracking.machine_seconds) == (
        True, False, False, 10)
    assert tracking.apple_proxy_networks == ("17.0.0.0/8", "2a01:b740::/32")
    assert tracking.scanner_user_agents == ("acme-scan", "other")


@pytest.mark.parametrize(("text", "environ", "words"), [
    ('[currency.rates]\nEURO = "1.1"\n', {}, '"EURO" is not one'),
    ('[currency.rates]\nEUR = "lots"\n', {}, "a decimal rate for EUR"),
    ('[currency.rates]\nEUR = "0"\n', {}, "a rate above 0 for EUR"),
    ("", {"HERALD_CURRENCY_RATES": "EUR:1.1"}, "CODE=RATE pairs"),
    ('[currency]\nrates = "x"\n', {}, "[currency] rates"),
    ('[tracking]\napple_proxy_networks = "apple"\n', {}, "not a network"),
    ('[tracking]\nmachine_seconds = -1\n', {}, "[tracking] machine_seconds"),
    ('[rfm]\ndormant_days = 0\n', {}, "[rfm] dormant_days"),
])
def test_bad_values_name_the_key(tmp_path, text, environ, words):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ)
    assert words in str(info.value)
