"""An XSS corpus stored through every name-like field, then every page opened in a real browser.

Each payload is stored as a contact's name, a tag, a list, a segment, a template, a campaign, a
custom field's label, a keyword rule's reply text, an inbound SMS reply (the webhook's domain call)
and an import file's column header. The browser tour's pages (tests/web/test_browser_tour.py) are
then opened one by one, and on each the page must show that:
- nothing ran: `window.__xss` is undefined and no script error was raised;
- nothing was injected: no element or attribute the corpus carries (img[src=x], an on* handler,
  svg[onload], a hidden input[name=role], a javascript: link, a second <script>);
- no template was evaluated: `Zq{{7*7}}` never shows as `Zq49`;
- the browser refused nothing: no CSP violation and no console error.
The app's CSP would block an injected handler anyway; the DOM checks catch the injection itself.
"""

from __future__ import annotations

import csv
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from audiences import (
    Contact,
    ContactList,
    Segment,
    add_to_list,
    create_contact,
    create_custom_field,
    create_list,
    create_segment,
)
from campaigns import create_campaign, create_keyword_rule, create_template, record_reply
from campaigns.models import Campaign, Run, Template
from channels.inbound import InboundSms
from core.db import Database
from tests.conftest import _fresh_sqlite, make_config
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, REQUIRE_SERVICES
from tests.web.test_browser_tour import _pages
from tests.web.tour_site import PASSWORD
from tests.web.tour_site import seed_tour as _seed
from web.app import create_app

pytestmark = pytest.mark.browser

CORPUS = (
    "</script></textarea></title><img src=x onerror=window.__xss=1>",
    '"><svg onload=window.__xss=1>',
    "'-(window.__xss=1)-'",
    "Zq{{7*7}}",
    "javascript:window.__xss=1",
    "<input hidden name=role value=admin>",
    "line\u2028sep\u2029end",
)
# Pages that show no name a user typed (forms, settings, the public preference page): the rest must show one.
SHOW_NO_NAMES = {"import", "settings", "suppressions", "rate-plans", "users", "preferences"}

# Installed before any page script: records CSP refusals the page itself would not report.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
"""
# What an injection leaves in the DOM; each selector must match nothing.
INJECTED = {
    "an img[src=x]": 'img[src="x"]',
    "an svg[onload]": "svg[onload]",
    "an inline event handler": "[onerror], [onload], [onclick], [onmouseover], [onfocus], [onanimationstart]",
    "a hidden input[name=role]": "input[name=role][hidden], input[name=role][value=admin]",
    "a javascript: URL": '[href^="javascript:" i], [src^="javascript:" i], [action^="javascript:" i], '
                         '[formaction]',
}
INLINE_SCRIPT_WITH_PAYLOAD = """() => [...document.scripts].filter(
  s => !s.src && s.type !== "application/json" && s.textContent.includes("__xss")).length"""


def _store_corpus(database: Database, config, ids: dict[str, object]) -> dict[str, object]:
    """Store each payload through the domain functions the pages and API call, and rename what the tour
    made (campaigns, templates, lists, segments, the tour's contact) so the detail pages show them too."""
    now = datetime.now(UTC)
    made: dict[str, object] = {}
    with database.session() as session:
        for i, payload in enumerate(CORPUS):
            contact_list = create_list(session, payload, now=now)
            field = create_custom_field(session, key=f"xss_{i}", label=payload, type="text", now=now)
            contact = create_contact(session, default_region="US", now=now, email=f"xss{i}@example.com",
                                     phone=f"+1201555{i:04d}", first_name=payload, last_name=payload,
                                     tags=[payload], attributes={f"xss_{i}": payload})
            add_to_list(session, contact_list.id, [contact.id], now=now)
            segment = create_segment(session, name=payload, now=now,
                                     rules={"all": [{"field": "email", "op": "contains", "value": "xss"}]})
            template = create_template(session, name=payload, channel="sms", body="Hi {{ contact.first_name }}",
                                       now=now)
            campaign = create_campaign(session, name=payload, channel="sms", template_id=template.id,
                                       list_id=contact_list.id, segment_id=segment.id, now=now)
            create_keyword_rule(session, keyword=f"XSS{i}", action="help", reply_text=payload,
                                config=config.replies, now=now)
            record_reply(session, InboundSms("twilio", f"SMxss{i}", contact.phone, "+15005550006", payload),
                         config=config.replies, default_region="US", now=now)
            if i == 0:
                made.update(segment=segment.id, xss_contact=contact.id, xss_campaign=campaign.id, field=field.id)
        made["run"] = session.scalar(select(Run.id).where(Run.campaign_id == ids["done"]))

        renamed = [*session.scalars(select(Campaign).where(Campaign.id.in_(
            [ids[k] for k in ("draft", "done", "running", "scheduled", "notice")]))),
            *session.scalars(select(Template).where(Template.name.not_in(CORPUS))),
            *session.scalars(select(ContactList).where(ContactList.name.not_in(CORPUS))),
            *session.scalars(select(Segment).where(Segment.name.not_in(CORPUS)))]
        for n, row in enumerate(renamed):  # the number keeps list and segment names unique
            row.name = f"{CORPUS[n % len(CORPUS)]} {n}"
        tour_contact = session.get(Contact, ids["contact"])
        tour_contact.first_name, tour_contact.last_name = CORPUS[0], CORPUS[1]
        session.commit()
    return made


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory, _sqlite_template) -> Iterator[tuple[str, dict[str, object]]]:
    """The tour's realistic database with the corpus stored in it, served on a free port (one per module)."""
    folder = tmp_path_factory.mktemp("xss")
    config = make_config(folder, _fresh_sqlite(_sqlite_template, folder))
    database = Database(str(config.database_url))
    ids = _seed(database, config)
    ids.update(_store_corpus(database, config, ids))
    app = create_app(config, database=database)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="herald-xss-http", daemon=True)
    thread.start()
    from campaigns.delivery.outgoing import unsubscribe_url

    ids["unsubscribe"] = unsubscribe_url("", str(config.secret_key), int(ids["message"]))  # type: ignore[arg-type]
    yield f"http://127.0.0.1:{http.server_port}", ids
    http.shutdown()
    thread.join(10)
    database.dispose()


@pytest.fixture(scope="module")
def signed_in(corpus_server):
    """A browser context logged in as the admin, watching for CSP violations on every page it opens."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing — apt-get install chromium"
        if REQUIRE_SERVICES:
            pytest.fail(message + " (HERALD_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    base, _ids = corpus_server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("input[name=email]", "admin@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(base + "/")
        page.close()
        yield context
        browser.close()


def _watched_page(context) -> tuple[object, list[str]]:
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    return page, problems


def _injections(page) -> list[str]:
    """What the corpus did to the open page, if anything."""
    found = []
    if page.evaluate("() => typeof window.__xss") != "undefined":
        found.append("a payload ran (window.__xss is set)")
    for what, selector in INJECTED.items():
        count = page.locator(selector).count()
        if count:
            found.append(f"{count} × {what}: {page.locator(selector).first.evaluate('e => e.outerHTML')[:160]}")
    if page.evaluate(INLINE_SCRIPT_WITH_PAYLOAD):
        found.append("an inline <script> holding a payload")
    if "Zq49" in page.content():
        found.append("a template expression in a name was evaluated (Zq{{7*7}} became Zq49)")
    found += [f"CSP violation: {violation}" for violation in page.evaluate("() => window.__csp")]
    return found


def _corpus_pages() -> list[object]:
    names = [name for name, _path in _pages({key: 0 for key in (
        "contact", "segment", "draft", "done", "running", "scheduled", "notice", "template", "unsubscribe")})]
    names += [*EXTRA_PAGES]
    return list(names)


# Pages the tour does not open, with the objects that carry the corpus.
EXTRA_PAGES = {
    "xss-contact": "/contacts/{xss_contact}",
    "xss-contact-edit": "/contacts/{xss_contact}/edit",
    "xss-campaign": "/campaigns/{xss_campaign}",
    "custom-field-edit": "/settings/custom-fields/{field}",
    "report-print": "/reports/campaigns/{done}/print",
    "run-report": "/reports/campaigns/{done}/runs/{run}",
}


def _path(name: str, ids: dict[str, object]) -> str:
    return EXTRA_PAGES[name].format(**ids) if name in EXTRA_PAGES else dict(_pages(ids))[name]


@pytest.mark.parametrize("name", _corpus_pages())
def test_no_stored_payload_runs_or_injects_on_the_page(signed_in, corpus_server, name, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    base, ids = corpus_server
    page, problems = _watched_page(signed_in)
    path = _path(name, ids)
    response = page.goto(base + path)
    assert response is not None and response.status < 400, f"{path} answered {response and response.status}"
    page.wait_for_load_state("networkidle")
    if name == "segment-edit":  # the live preview has drawn its sample: the payload contacts' names
        try:
            page.wait_for_function(
                "() => document.querySelector('[data-segment=\"count\"]').textContent.trim() !== '…'", timeout=10_000)
        except PlaywrightTimeout:
            problems.append("the segment's live preview never answered")
    problems += _injections(page)
    if name not in SHOW_NO_NAMES and not any(payload in page.inner_text("body") for payload in CORPUS):
        problems.append("no payload is shown as text: the corpus did not reach this page, so it proves nothing")
    shots = Path(os.environ.get("HERALD_XSS_SHOTS") or tmp_path)
    page.screenshot(path=str(shots / f"xss-{name}.png"), full_page=True)
    page.close()
    assert not problems, f"{name} ({path}):\n" + "\n".join(_counted(problems))


@pytest.mark.parametrize("name", ["login", "preferences", "contacts", "segments", "templates", "campaigns",
                                  "reports-overview", "inbox", "conversions", "suppressions", "lists"])
def test_no_payload_in_the_query_string_is_reflected_into_the_page(signed_in, corpus_server, name):
    """Search boxes, filters and ?next= echo what they were given: as text, never as markup. The login and
    preference pages are opened by someone not logged in."""
    base, ids = corpus_server
    anonymous = name in ("login", "preferences")
    context = signed_in.browser.new_context() if anonymous else signed_in
    if anonymous:
        context.add_init_script(WATCH_CSP)
    page, problems = _watched_page(context)
    path = "/login" if name == "login" else dict(_pages(ids))[name]
    payload = CORPUS[0] + CORPUS[1] + CORPUS[5]
    query = urlencode({key: payload for key in ("q", "search", "status", "channel", "tag", "list", "segment",
                                                "from", "to", "next", "page", "sort", "topic", "lang")})
    response = page.goto(f"{base}{path}?{query}")
    page.wait_for_load_state("networkidle")
    if anonymous:
        assert response is not None and response.status == 200 and page.url.startswith(base + path), page.url
    problems += _injections(page)
    page.close()
    if anonymous:
        context.close()
    assert not problems, f"{name} ({path}?…):\n" + "\n".join(_counted(problems))


def _counted(problems: list[str]) -> list[str]:
    """The same console line forty times reads better once, with its count."""
    return [f"{count} × {line}" if count > 1 else line for line, count in Counter(problems).items()]


def test_an_import_header_from_the_corpus_is_shown_as_text(signed_in, corpus_server, tmp_path):
    """The column-mapping page shows each header of the uploaded file; then the import runs and reports."""
    base, _ids = corpus_server
    headers = ["email", *CORPUS]
    row = ["ann.import@example.com", *("v" for _ in CORPUS)]
    csv_path = tmp_path / "corpus.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([headers, row])
    page, problems = _watched_page(signed_in)
    page.goto(base + "/contacts/import")
    page.set_input_files("#f-file", str(csv_path))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url(re.compile(r".*/contacts/import/[0-9a-f]{32}/columns$"))
    assert page.get_by_text("Zq{{7*7}}").count(), "the mapping page does not show the corpus headers"
    problems += [f"mapping page: {p}" for p in _injections(page)]
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")
    problems += [f"after mapping ({page.url}): {p}" for p in _injections(page)]
    page.close()
    assert not problems, "\n".join(problems)
