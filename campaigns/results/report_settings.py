"""The workspace settings every report is built with, read from the configuration in one place.

The campaign report, the overview and the weekly mail are reached from the page, its CSV/XLSX/JSON
exports, the API, `herald report` and the scheduler. When each caller picked the currency and the
exchange rates itself, the command line forgot them and dropped a EUR fixed cost as "no exchange
rate" while the page counted it. Every caller now builds the report from `ReportSettings.from_config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from core.config import Config

DORMANT_DAYS = 180


@dataclass(frozen=True)
class ReportSettings:
    currency: str  # [app] currency: every amount is shown in it
    rates: Mapping[str, Decimal] = field(default_factory=dict)  # [currency.rates]: one unit of each, in `currency`
    dormant_days: int = DORMANT_DAYS  # [rfm] dormant_days: no purchase in that many days before is dormant
    # [app] default_timezone: the hours of the series, the runs' times, the overview's and the mail's days,
    # as every other time in the UI is written.
    time_zone: str = "UTC"

    @classmethod
    def from_config(cls, config: Config) -> ReportSettings:
        return cls(currency=config.currency, rates=dict(config.currency_rates), dormant_days=config.dormant_days,
                   time_zone=config.default_timezone)

    def upper_rates(self) -> dict[str, Decimal]:
        """The rates keyed by upper-case ISO code, as amounts name their currency."""
        return {code.upper(): Decimal(rate) for code, rate in self.rates.items()}
