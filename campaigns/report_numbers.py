"""How the reports write numbers: money to the cent (or to 4 places for fractions of a cent), rates as
fractions to 4 places. One definition, so the page, the CSV/XLSX files and the API agree to the unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
SUB_CENT = Decimal("0.0001")
RATE = Decimal("0.0001")


def money(value: Decimal | None) -> str | None:
    """Money as shown everywhere: to the cent, or to 4 places when it has fractions of a cent (an SMS at
    0.0079 must not show as 0.01, nor a thousand of them as 7.90 when they cost 7.9000 exactly)."""
    if value is None:
        return None
    fine = value.quantize(SUB_CENT, ROUND_HALF_UP)
    cents = fine.quantize(CENT)
    return str(cents) if fine == cents else str(fine)


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    return None if not whole else (Decimal(part) / Decimal(whole)).quantize(RATE, ROUND_HALF_UP)


def shown(value: Any) -> str | None:
    return None if value is None else str(value)
