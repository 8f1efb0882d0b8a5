"""How the reports write numbers: money to its currency's minor unit (or to 4 places for fractions of it),
rates as fractions to 4 places, and ROI only where a campaign has a revenue goal. One definition, so the
page, the CSV/XLSX files, the weekly mail and the API agree to the unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import UnknownCurrencyError, get_currency_precision

CENT = Decimal("0.01")
SUB_CENT = Decimal("0.0001")
RATE = Decimal("0.0001")
FINEST_PLACES = 4  # a per-message price such as 0.0079 keeps its fractions of a cent

# What a report writes for ROI where it does not apply (CSV, XLSX, mail); the API says null.
NOT_APPLICABLE = "n/a"
NO_REVENUE_GOAL = ("An event notice or operational message has no revenue goal, so ROI does not apply: "
                   "its cost is not a loss.")


def currency_places(currency: str | None) -> int:
    """The decimals a currency is written with (ISO 4217 via Babel): 2 for CNY, USD, EUR; 0 for JPY, KRW."""
    if not currency:
        return 2
    try:
        return get_currency_precision(currency.upper())
    except UnknownCurrencyError:
        return 2


def money(value: Decimal | None, currency: str | None = None) -> str | None:
    """Money as shown everywhere: to the currency's minor unit (the cent, the yen), or to 4 places when it
    has fractions of that unit (an SMS at 0.0079 USD must not show as 0.01, nor a thousand of them as 7.90
    when they cost 7.9000 exactly), trailing zeros past the minor unit dropped — as the page's |money
    writes it, so "1234.5 JPY" is the same on the page, in the CSV, the XLSX and the API."""
    if value is None:
        return None
    places = currency_places(currency)
    fine = Decimal(value).quantize(Decimal(1).scaleb(-max(places, FINEST_PLACES)), ROUND_HALF_UP)
    coarse = fine.quantize(Decimal(1).scaleb(-places))
    if fine == coarse:
        return f"{coarse:f}"
    return f"{fine:f}".rstrip("0")  # a digit past the minor unit is non-zero, so this keeps at least `places`


def has_revenue_goal(kind: str, operational: bool) -> bool:
    """Whether ROI means anything for a campaign: an event notice or an operational message (a gate change, a
    cancelled order) is sent to inform, so what it costs is not set against revenue."""
    return kind != "event_notice" and not operational


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    return None if not whole else (Decimal(part) / Decimal(whole)).quantize(RATE, ROUND_HALF_UP)


def shown(value: Any) -> str | None:
    return None if value is None else str(value)
