"""English and 简体中文: the language switch, the locale choice, locale formats, complete catalogs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import campaigns
from audiences import create_contact
from tests.conftest import make_config
from tests.web.conftest import PASSWORD
from web.app import create_app
from web.i18n import TRANSLATIONS_DIR, compile_catalogs

REPO = Path(__file__).resolve().parents[2]
ZH_PO = TRANSLATIONS_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"


def test_the_language_switch_renders_chinese_and_the_user_keeps_it(app, logged_in_client):
    assert 'lang="en"' in logged_in_client.get("/").get_data(as_text=True)
    response = logged_in_client.post("/language", data={"locale": "zh_CN", "next": "/contacts"})
    assert response.status_code == 303 and response.headers["Location"] == "/contacts"
    page = logged_in_client.get("/contacts").get_data(as_text=True)
    assert 'lang="zh-CN"' in page
    assert "客户" in page and "还没有客户" in page and "概览" in page

    # The choice is stored on the user too: a new browser session is Chinese after logging in.
    fresh = app.test_client()
    fresh.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert "营销活动" in fresh.get("/campaigns").get_data(as_text=True)


def test_the_switch_ignores_unknown_languages_and_foreign_redirects(logged_in_client):
    response = logged_in_client.post("/language", data={"locale": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert 'lang="en"' in logged_in_client.get("/").get_data(as_text=True)


def test_the_login_page_can_be_switched_before_logging_in(client, admin_user):
    client.post("/language", data={"locale": "zh_CN"})
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_the_configured_default_language_is_used_for_who_has_not_chosen(tmp_path, db_url, database, clock):
    config = make_config(tmp_path, db_url, HERALD_DEFAULT_LOCALE="zh_CN")
    app = create_app(config, database=database, clock=clock)
    page = app.test_client().get("/setup", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    assert "欢迎使用 Herald" in page


def test_dates_and_money_follow_the_language(logged_in_client, database, clock):
    now = clock.now()  # 2026-01-05 09:00 UTC
    with database.session() as session:
        create_contact(session, default_region="US", now=now, phone="+12015550101", first_name="Ann")
        template = campaigns.create_template(session, name="T", channel="sms", body="Hi", now=now)
        campaign = campaigns.create_campaign(session, name="C", channel="sms", template_id=template.id, now=now)
    logged_in_client.post(f"/campaigns/{campaign.id}/send")
    english = logged_in_client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Jan 5, 2026" in english
    logged_in_client.post("/language", data={"locale": "zh_CN"})
    chinese = logged_in_client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    assert "2026年1月5日" in chinese
    settings = logged_in_client.get("/settings").get_data(as_text=True)
    assert "US$0.0079" in settings  # the SMS price per segment, in zh_CN notation


def _used_msgids() -> set[tuple[str | None, str]]:
    """Every (context, msgid) the web templates and web Python use, extracted as pybabel would."""
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(str(REPO), method_map):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.add((context, msgid))
    return found


def test_every_string_in_the_ui_has_a_chinese_translation():
    with ZH_PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    translated = {(m.context, m.id): m for m in catalog if m.id}
    used = _used_msgids()
    assert len(used) > 250  # the extraction really found the UI's strings
    missing = sorted(msgid for key in used if (msgid := key[1]) and
                     (key not in translated or not translated[key].string or translated[key].fuzzy))
    assert not missing, f"{len(missing)} strings have no zh_CN translation, e.g. {missing[:5]} — see the .po header"
    problems = [(message.id, errors) for message, errors in catalog.check()]
    assert not problems  # placeholders like %(name)s match between msgid and msgstr


def test_catalogs_are_compiled_when_missing_or_older_than_the_po(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, source, ignore=shutil.ignore_patterns("*.mo"))
    mo = source / "zh_CN" / "LC_MESSAGES" / "messages.mo"
    assert compile_catalogs(source) == source and mo.exists()
    first = mo.stat().st_mtime_ns
    assert compile_catalogs(source) == source and mo.stat().st_mtime_ns == first  # up to date: untouched
    po = mo.with_suffix(".po")
    os.utime(po, ns=(first + 10**9, first + 10**9))
    compile_catalogs(source)
    assert mo.stat().st_mtime_ns > first


def test_a_folder_that_cannot_take_the_mo_falls_back_to_the_data_dir(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS_DIR, source, ignore=shutil.ignore_patterns("*.mo"))
    # A directory where the .mo should go fails the write even for root, like a read-only install does.
    (source / "zh_CN" / "LC_MESSAGES" / "messages.mo").mkdir()
    target = compile_catalogs(source, fallback=tmp_path / "var" / "translations")
    assert target == tmp_path / "var" / "translations"
    assert (target / "zh_CN" / "LC_MESSAGES" / "messages.mo").is_file()
