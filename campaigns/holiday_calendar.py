"""Holiday calendars (the `holidays` library): which holidays a country has, when each falls in a year,
and their names in the reader's language — stored by their English name, shown as 春节 in 简体中文."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

from core.errors import Invalid

# How far ahead a holiday is looked up: a holiday that does not occur within this many years (a
# one-off, or a name the calendar dropped) simply has no next firing.
HOLIDAY_YEARS_AHEAD = 3


@lru_cache(maxsize=256)
def _calendar(country: str, year: int) -> dict[date, str]:
    calendar = holidays.country_holidays(country, years=year)
    language = "en_US" if "en_US" in (calendar.supported_languages or ()) else None
    if language and language != calendar.default_language:
        calendar = holidays.country_holidays(country, years=year, language=language)
    return dict(calendar.items())


def _is_extra_day(name: str) -> bool:
    # Observed and substituted days off repeat a holiday; a greeting goes on the holiday itself.
    lowered = name.lower()
    return "observed" in lowered or "substituted" in lowered or lowered.startswith("day off")


def holiday_names(country: str, year: int) -> list[str]:
    """The holidays of `country`'s calendar in `year` (and the next), by first date; observed days left out."""
    check_country(country)
    seen: dict[str, date] = {}
    for y in (year, year + 1):
        for day, names in sorted(_calendar(country, y).items()):
            for name in names.split("; "):
                if not _is_extra_day(name) and name not in seen:
                    seen[name] = day
    return sorted(seen, key=lambda name: (seen[name].month, seen[name].day, name))


def holiday_labels(country: str, year: int, language: str) -> dict[str, str]:
    """Each holiday name (as holiday_names gives it, the stored identifier) in `language` where the
    calendar has that language ("Chinese New Year (Spring Festival)" -> "春节" in zh_CN); else itself."""
    names = holiday_names(country, year)
    calendar = holidays.country_holidays(country)
    if language not in (calendar.supported_languages or ()):
        return {name: name for name in names}
    labels: dict[str, str] = {}
    for y in (year, year + 1):
        there = holidays.country_holidays(country, years=y, language=language)
        for day, english in _calendar(country, y).items():
            local = there.get(day, "").split("; ")
            for index, name in enumerate(english.split("; ")):
                if index < len(local) and local[index]:
                    labels.setdefault(name, local[index])
    return {name: labels.get(name, name) for name in names}


def holiday_date(country: str, name: str, year: int) -> date | None:
    """The first day in `year` that `country`'s calendar names `name` (Spring Festival 2027: 2027-02-06)."""
    days = [day for day, names in _calendar(country, year).items() if name in names.split("; ")]
    return min(days) if days else None


def check_country(country: str) -> str:
    if country not in holidays.list_supported_countries():
        raise Invalid(f'"{country}" has no holiday calendar; use an ISO country code such as CN, US, GB or DE',
                      field="country")
    return country


def resolve_holiday(country: str, name: str, year: int) -> str:
    """The stored (English) name of the holiday `name` means: itself, its name in any language the calendar
    has (春节 -> "Chinese New Year (Spring Festival)"), or a part of one name that no other shares ("Mid-Autumn").
    An unknown name comes back as given, for check_holiday to refuse with the list."""
    wanted = " ".join(name.split()).casefold()
    names = holiday_names(country, year)
    if name in names or not wanted:
        return name
    languages = holidays.country_holidays(country).supported_languages or ()
    spellings: dict[str, set[str]] = {stored: {stored.casefold()} for stored in names}
    for language in languages:
        for stored, label in holiday_labels(country, year, language).items():
            spellings[stored].add(label.casefold())
    exact = [stored for stored, said in spellings.items() if wanted in said]
    if len(exact) == 1:
        return exact[0]
    partial = [stored for stored, said in spellings.items() if any(wanted in spelling for spelling in said)]
    return partial[0] if len(partial) == 1 else name


def check_holiday(country: str, name: str, year: int) -> None:
    """Raise Invalid unless `name` is a holiday of `country` in `year` or the next (listing the names)."""
    names = holiday_names(country, year)
    if name not in names:
        raise Invalid(f'"{name}" is not a holiday in the {country} calendar; pick one of: {", ".join(names)}',
                      field="holiday")
