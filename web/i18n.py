"""Languages: Flask-Babel wiring, the locale a request is shown in, locale-aware filters, the language switch.

Catalogs live in web/translations/<locale>/LC_MESSAGES/messages.po. The compiled .mo files are not
committed: compile_catalogs() builds any that are missing or older than their .po when the app
starts, so a fresh clone shows Chinese without an extra build step. Re-extract after changing
strings with `pybabel extract -F babel.cfg -o web/translations/messages.pot .` and
`pybabel update -i web/translations/messages.pot -d web/translations`.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency as babel_format_currency
from flask import Blueprint, Flask, current_app, redirect, request, session
from flask_babel import Babel, Domain, format_date, format_datetime, format_decimal, get_locale, gettext
from flask_login import current_user

from campaigns.results.report_numbers import money
from core.config import Config
from core.users import set_locale
from web.db import get_session
from web.redirects import same_site_path

log = logging.getLogger("herald.web")

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
LOCALES = ("en", "zh_CN")
# Each language is named in itself, so someone who cannot read the current one still finds theirs.
LANGUAGE_NAMES = {"en": "English", "zh_CN": "简体中文"}

bp = Blueprint("i18n", __name__)


def init_app(app: Flask, config: Config) -> None:
    directory = compile_catalogs(TRANSLATIONS_DIR, fallback=config.data_dir / "translations")
    babel = Babel(
        app,
        locale_selector=select_locale,
        default_locale=config.default_locale,
        default_timezone=config.default_timezone,
        default_translation_directories=str(directory),
    )
    babel.domain_instance = Catalogs(directory)
    app.jinja_env.filters.update(
        datetime=format_when, date=format_day, money=format_money, number=format_number, rate=format_rate
    )
    app.context_processor(lambda: {"current_locale": locale_code(get_locale()), "languages": LANGUAGE_NAMES})
    app.register_blueprint(bp)


# ---------------------------------------------------------------- catalogs
def compile_catalogs(source: Path, *, fallback: Path | None = None) -> Path:
    """Compile every .po under `source` whose .mo is missing or older; return the directory to load from.

    When `source` is read-only (an installed package), the catalogs are compiled into `fallback` instead.
    """
    try:
        _compile_into(source, source)
        return source
    except OSError as exc:
        if fallback is None:
            raise
        log.info("event=catalogs_compiled_elsewhere reason=%r target=%s", str(exc), fallback)
        _compile_into(source, fallback)
        return fallback


def _compile_into(source: Path, target: Path) -> None:
    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        relative = po_path.relative_to(source).with_suffix(".mo")
        mo_path = target / relative
        if mo_path.is_file() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        locale = relative.parts[0]
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: several web workers may start at once, and none may read half a file.
        fd, tmp = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.part")
        try:
            with os.fdopen(fd, "wb") as handle:
                write_mo(handle, catalog)
            os.replace(tmp, mo_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class Catalogs(Domain):
    """The translations, each loaded once and found by the code the UI offers ("zh_CN").

    Babel reads "zh_CN" as zh_Hans_CN (it adds the likely script), so gettext would look for a
    zh_Hans_CN folder and silently fall back to English; looking catalogs up by our own code avoids that.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory))
        self._by_code = {code: support.Translations.load(str(directory), [code]) for code in LOCALES}

    def get_translations(self) -> support.NullTranslations:
        return self._by_code.get(locale_code(get_locale()), support.NullTranslations())


def locale_code(locale: Locale | None) -> str:
    """The UI's code ("en", "zh_CN") for a Babel locale, whatever script Babel filled in."""
    for code in LOCALES:
        if locale is not None and _parsed(code) == locale:
            return code
    return "en"


@cache
def _parsed(code: str) -> Locale:
    return Locale.parse(code)


# ---------------------------------------------------------------- which language
def select_locale() -> str:
    """The language a choice was made for (this browser, then this user), else the configured default.

    Accept-Language only matters if the configured default is not a language Herald speaks.
    """
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    config: Config = current_app.extensions["herald.config"]
    if config.default_locale in LOCALES:
        return config.default_locale
    return request.accept_languages.best_match(LOCALES) or "en"


@bp.post("/language")
def switch_language():
    """Remember the chosen language for this browser and, when logged in, for the user."""
    locale = request.form.get("locale", "")
    if locale in LOCALES:
        session["locale"] = locale
        if current_user.is_authenticated:
            save_user_locale(current_user, locale)
    return redirect(same_site_path(request.form.get("next")) or "/", 303)


def save_user_locale(user, locale: str) -> None:
    """Store the user's language, so it follows them to another browser."""
    set_locale(get_session(), user, locale)


# ---------------------------------------------------------------- formatting
def format_when(value: datetime | None, style: str = "medium") -> str:
    """A timestamp in the configured time zone, written the way the chosen language writes it."""
    return format_datetime(value, style) if value else "—"


def format_day(value: date | None, style: str = "medium") -> str:
    return format_date(value, style) if value else "—"


def format_money(amount: Decimal | float | str | None, currency: str) -> str:
    """Money in the reader's notation, with the digits the exports and the API write (report_numbers.money):
    the currency's minor unit, or 4 places for a fraction of it (an SMS at 0.0079 USD shows as $0.0079)."""
    if amount is None:
        return "—"
    digits = Decimal(money(Decimal(str(amount)), currency) or "0")
    return babel_format_currency(digits, currency, locale=str(get_locale() or "en"), decimal_quantization=False)


def format_number(value: int | float | Decimal | None) -> str:
    return format_decimal(value) if value is not None else "—"


_RATE = re.compile(r"\s*(\d+)\s*(?:/|per)\s*(second|minute|hour|day)s?\s*")


def format_rate(value: object) -> str:
    """A send rate as the reader says it ("1000/second" → "1,000 a second", 每秒 1,000 条); other text as written."""
    match = _RATE.fullmatch(str(value or ""))
    if not match:
        return str(value) if value else "—"
    count = format_decimal(int(match[1]))
    per = {"second": gettext("%(count)s a second", count=count), "minute": gettext("%(count)s a minute", count=count),
           "hour": gettext("%(count)s an hour", count=count), "day": gettext("%(count)s a day", count=count)}
    return per[match[2]]
