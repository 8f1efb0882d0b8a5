"""Accessibility checked the way auditors do: axe-core's WCAG 2 A and AA rules on every page, in English and 简体中文.

axe-core comes from the npm registry at test time (`npm pack axe-core@4`, once, kept in pytest's cache;
`pytest --cache-clear` takes the newest 4.x again): no copy of it lives in the repository. Without npm or
the registry the test is skipped, or fails under HERALD_REQUIRE_SERVICES=1.

The pages are the app's own GET routes: each route of the url_map is either in PAGES, with the addresses
that show it and who looks at it, or in NOT_PAGES with why it answers no page. A new route in neither
fails the test, so a new page cannot be left out of the audit. The site is the browser tour's (demo data
plus a working week, `tests/web/tour_site.py`); the first-run setup page is audited before anyone exists.
Set HERALD_A11Y_SHOTS=/some/dir to keep a screenshot of each audited page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import select

from campaigns.delivery.outgoing import unsubscribe_url
from campaigns.models import Message
from core.users import create_user
from tests.web.test_browser import REQUIRE_SERVICES, browser  # noqa: F401 - the same chromium
from tests.web.tour_site import PASSWORD, config, seed_tour, serve  # noqa: F401 - the tour's site
from web.app import create_app

pytestmark = pytest.mark.browser

AXE_PACKAGE = "axe-core@4"
# The WCAG 2.0 and 2.1 success criteria at levels A and AA: what an accessibility audit holds a site to.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGUAGES = ("en", "zh_CN")
CSV = "email,phone,name,tier\nli.lei@example.com,+8613800138001,李雷,A\nmary@example.com,+12015550104,Mary,B\n"


class Visit(NamedTuple):
    name: str
    path: str  # formatted with the seeded ids (tour_site.seed_tour) and the two imports made by the test
    who: str  # "first-run" (no user yet), "visitor" (logged out), "admin" or "marketer"


# Every GET route that answers a page, and the addresses that show it.
PAGES: dict[str, tuple[Visit, ...]] = {
    "auth.setup": (Visit("setup", "/setup", "first-run"),),
    "auth.login": (Visit("login", "/login", "visitor"),),
    "dashboard.index": (Visit("dashboard", "/", "admin"),),
    "contacts.index": (Visit("contacts", "/contacts", "admin"),),
    "contacts.detail": (Visit("contact", "/contacts/{contact}", "admin"),),
    "contacts.edit": (Visit("contact-edit", "/contacts/{contact}/edit", "admin"),),
    "contacts.new": (Visit("contact-new", "/contacts/new", "admin"),),
    "imports.index": (Visit("import", "/contacts/import", "admin"),),
    "imports.columns": (Visit("import-columns", "/contacts/import/{import_mapping}/columns", "admin"),),
    "imports.result": (Visit("import-result", "/contacts/import/{import_done}", "admin"),),
    "lists.index": (Visit("lists", "/lists", "admin"),),
    "segments.index": (Visit("segments", "/segments", "admin"),),
    "segments.new": (Visit("segment-new", "/segments/new", "admin"),),
    "segments.edit": (Visit("segment-edit", "/segments/{segment}", "admin"),),
    "templates.index": (Visit("templates", "/templates", "admin"),),
    "gallery.index": (Visit("gallery", "/gallery?language=zh_CN&channel=sms", "admin"),),
    "gallery.show": (Visit("gallery-sms", "/gallery/spring_festival?language=zh_CN&channel=sms", "admin"),
                     Visit("gallery-email", "/gallery/christmas?language=en&channel=email", "marketer")),
    "seed_list.seeds": (Visit("seeds", "/seeds", "admin"),),
    "templates.new": (Visit("template-choose", "/templates/new", "admin"),
                      Visit("template-new-sms", "/templates/new?channel=sms", "admin"),
                      Visit("template-new-email", "/templates/new?channel=email", "admin")),
    "templates.edit": (Visit("template-edit", "/templates/{template}", "admin"),),
    "campaigns.index": (Visit("campaigns", "/campaigns", "admin"),),
    "campaigns.new": (Visit("campaign-new", "/campaigns/new", "admin"),
                      Visit("notice-new", "/campaigns/new?kind=event_notice", "admin")),
    "campaigns.detail": (Visit("campaign-draft", "/campaigns/{draft}", "admin"),
                         Visit("campaign-scheduled", "/campaigns/{scheduled}", "admin"),
                         Visit("campaign-running", "/campaigns/{running}", "admin"),
                         Visit("campaign-completed", "/campaigns/{done}", "admin"),
                         Visit("notice", "/campaigns/{notice}", "admin")),
    "campaign_schedule.edit": (Visit("campaign-schedule", "/campaigns/{draft}/schedule/edit", "admin"),),
    "campaign_tracking.edit": (Visit("campaign-tracking", "/campaigns/{draft}/tracking", "admin"),),
    "experiments.edit": (Visit("campaign-experiment", "/campaigns/{draft}/experiment", "admin"),),
    "reports.index": (Visit("reports", "/reports", "admin"),),
    "reports.campaign": (Visit("report", "/reports/campaigns/{done}", "admin"),),
    "reports.campaign_print": (Visit("report-print", "/reports/campaigns/{done}/print", "admin"),),
    "run_report.show": (Visit("run-report", "/reports/campaigns/{done}/runs/{run}", "admin"),),
    "inbox.index": (Visit("inbox", "/inbox", "admin"),),
    "canned_replies.index": (Visit("canned-replies", "/inbox/canned", "admin"),),
    "send_calendar.month": (Visit("calendar", "/calendar", "admin"),),
    "signup_forms.index": (Visit("signup-forms", "/forms", "admin"),),
    "signup_forms.new": (Visit("signup-form-new", "/forms/new", "admin"),),
    "conversions.index": (Visit("conversions", "/conversions", "admin"),),
    "settings.index": (Visit("settings", "/settings", "admin"),),
    "contact_settings.custom_fields": (Visit("custom-fields", "/settings/custom-fields", "admin"),),
    "contact_settings.edit_field": (Visit("custom-field", "/settings/custom-fields/{custom_field}", "admin"),),
    "contact_settings.suppressions": (Visit("suppressions", "/settings/suppressions", "admin"),),
    "rate_plans.index": (Visit("rate-plans", "/settings/rate-plans", "admin"),),
    "users.index": (Visit("users", "/users", "admin"), Visit("forbidden", "/users", "marketer")),
    "public.unsubscribe_page": (Visit("preferences", "{unsubscribe}", "visitor"),
                                Visit("unsubscribe-not-valid", "/u/{message}/not-signed", "visitor")),
    "public.follow_link": (Visit("link-not-valid", "/l/not-a-token", "visitor"),),
}
# Pages no route is for: what a wrong address shows.
ERROR_PAGES = (Visit("not-found", "/no/such/page", "admin"),)

# GET routes that answer no page, and why they are not audited.
NOT_PAGES = {
    "static": "stylesheets, scripts and the icon",
    "campaigns.status": "JSON the campaign page polls",
    "campaign_controls.estimate": "JSON the campaign page asks for",
    "imports.status": "JSON the import progress page polls",
    "imports.errors_csv": "a CSV download",
    "segments.export": "a CSV or XLSX download",
    "reports.campaign_json": "JSON",
    "reports.campaign_xlsx": "an XLSX download",
    "reports.campaign_csv": "a CSV download",
    "reports.overview_xlsx": "an XLSX download",
    "reports.overview_csv": "a CSV download",
    "public.open_pixel": "a GIF",
    "segments.values": "JSON the segment editor asks for",
    "signup_forms.qr_png": "a PNG QR code",
    "signup_forms.qr_svg": "an SVG QR code",
    # Not audited yet: they need a sign-up form in the seeded site (tests/web/tour_site.py), which it does not
    # make; tests/web/test_browser_signup.py walks them without the audit.
    "signup_forms.edit": "a sign-up form's editor (not seeded yet)",
    "conversations.detail": "a contact's conversation (the seeded site has no reply yet)",
    "signup_public.hosted": "a sign-up form's hosted page (not seeded yet)",
    "signup_public.confirm_page": "a sign-up confirmation page (not seeded yet)",
}
NOT_PAGE_PREFIXES = {"api.": "the JSON API (its document is /api/v1/openapi.json; Herald serves no HTML docs page)"}

# axe's result, reduced to what a failure lists: the rule, how bad, its WCAG wording, and each element with
# axe's reason (for contrast: the two colours, the ratio and the one required).
# iframes: false — the one frame, the email template's preview, holds the marketer's own HTML in a sandbox
# without scripts; it is content, not Herald's interface (its <iframe> element itself is still checked).
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
                                          iframes: false});
  const why = n => [...n.any, ...n.all, ...n.none].map(check => check.message).filter(Boolean)[0] || '';
  return result.violations.map(v => ({rule: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => ({target: n.target.join(' '), why: why(n)}))}));
}"""


class AxeUnavailable(Exception):
    """npm or the registry could not give axe-core."""


def _download_axe(into: Path) -> Path:
    """`npm pack` the axe-core package and keep its axe.min.js (with its version in the name) in `into`."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            packed = subprocess.run(["npm", "pack", AXE_PACKAGE, "--json", "--pack-destination", scratch],
                                    cwd=scratch, capture_output=True, text=True, timeout=180, check=True)
        except FileNotFoundError as exc:
            raise AxeUnavailable("npm is not installed (apt-get install npm)") from exc
        except subprocess.TimeoutExpired as exc:
            raise AxeUnavailable(f"npm pack {AXE_PACKAGE} took over 180 s (is the registry reachable?)") from exc
        except subprocess.CalledProcessError as exc:
            raise AxeUnavailable(f"npm pack {AXE_PACKAGE} failed: {exc.stderr.strip()[-500:]}") from exc
        package = json.loads(packed.stdout)[0]
        with tarfile.open(Path(scratch) / package["filename"]) as tarball:
            source = tarball.extractfile("package/axe.min.js").read()  # type: ignore[union-attr]
    script = into / f"axe-{package['version']}.min.js"
    partial = script.with_suffix(".partial")
    partial.write_bytes(source)
    partial.replace(script)  # a run stopped halfway leaves no truncated script for the next one to trust
    return script


@pytest.fixture(scope="session")
def axe_script(request) -> tuple[str, str]:
    """axe-core's browser script and its version, from pytest's cache or else the npm registry."""
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    folder = Path(cache.mkdir("axe-core")) if cache is not None else Path(tempfile.mkdtemp(prefix="axe-core-"))
    scripts = sorted(folder.glob("axe-*.min.js"))
    if not scripts:
        try:
            scripts = [_download_axe(folder)]
        except AxeUnavailable as exc:
            if REQUIRE_SERVICES:
                pytest.fail(f"{exc} (HERALD_REQUIRE_SERVICES=1)")
            pytest.skip(str(exc))
    return scripts[-1].read_text(encoding="utf-8"), scripts[-1].name.removeprefix("axe-").removesuffix(".min.js")


def _audited_routes(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}


def _sent_messages(database, run_id: int, count: int) -> list[int]:
    """The first `count` messages the run sent, each to a different contact."""
    with database.session() as session:
        rows = session.execute(select(Message.id, Message.contact_id).where(
            Message.run_id == run_id, Message.status == "sent").order_by(Message.id)).all()
    first_per_contact = {contact_id: message_id for message_id, contact_id in reversed(rows)}
    return sorted(first_per_contact.values())[:count]


def test_every_route_is_audited_or_said_not_to_be_a_page(config, database):  # noqa: F811
    routes = _audited_routes(create_app(config, database=database))
    forgotten = sorted(endpoint for endpoint in routes
                       if endpoint not in PAGES and endpoint not in NOT_PAGES
                       and not endpoint.startswith(tuple(NOT_PAGE_PREFIXES)))
    assert not forgotten, f"GET routes neither audited (PAGES) nor said to answer no page (NOT_PAGES): {forgotten}"
    gone = sorted((set(PAGES) | set(NOT_PAGES)) - routes)
    assert not gone, f"PAGES or NOT_PAGES name routes the app no longer has: {gone}"


def test_every_page_has_no_wcag_a_or_aa_violation(browser, axe_script, config, database, tmp_path):  # noqa: F811
    source, version = axe_script
    shots = Path(os.environ["HERALD_A11Y_SHOTS"]) if os.environ.get("HERALD_A11Y_SHOTS") else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    visits = [visit for visits in PAGES.values() for visit in visits] + list(ERROR_PAGES)
    problems: list[str] = []  # pages that could not be audited as asked
    # One line per (rule, element, reason), with the pages it is on: the same menu heading on 90 pages is one fix.
    found: dict[tuple[str, ...], list[str]] = {}
    audited: set[tuple[str, str]] = set()
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    # axe is added to every document before the page's own scripts run, through the DevTools protocol
    # (Page.addScriptToEvaluateOnNewDocument), which the pages' CSP (script-src 'self', no inline script) does
    # not govern: no bypass_csp. An injected <script> tag would rightly be refused.
    page.add_init_script(script=source)
    in_flight: set[object] = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))

    def audit(base: str, visit: Visit, ids: dict[str, object], language: str) -> None:
        in_flight.clear()
        address = base + visit.path.format(**ids)
        page.goto(address)
        if page.url != address:  # audited some other page instead
            problems.append(f"{language} {visit.name}: {visit.path} redirected to {page.url.removeprefix(base)}")
        check(visit.name, language)

    def settle() -> None:
        """Wait until no request has been in flight for 100 ms: the pages that fill themselves in after loading
        (previews, counts) have done so. Playwright's networkidle waits 500 ms on every page, doubling the tour."""
        quiet = 0
        for _ in range(100):
            page.wait_for_timeout(50)
            quiet = 0 if in_flight else quiet + 1
            if quiet == 2:
                return
        raise AssertionError(f"{page.url}: requests still in flight after 5 s: {in_flight}")

    def check(name: str, language: str) -> None:
        """Run axe on the page as it is now."""
        settle()
        shown_in = page.get_attribute("html", "lang")
        if shown_in != language.replace("_", "-"):
            problems.append(f"{language} {name}: the page is in {shown_in!r}, not the language chosen")
        for violation in page.evaluate(AXE_RUN, WCAG_TAGS):
            for node in violation["nodes"]:
                key = (violation["rule"], violation["impact"], node["target"], violation["help"], node["why"])
                found.setdefault(key, []).append(f"{language} {name}")
        audited.add((language, name))
        if shots:
            page.screenshot(path=str(shots / f"{language}-{name}.png"), full_page=True)

    def speak(language: str) -> None:
        """Choose the language with the page's own selector (every page but the public ones has it)."""
        if page.input_value("#lang-select") != language:
            with page.expect_navigation():
                page.select_option("#lang-select", language)

    def log_in(base: str, email: str) -> None:
        page.goto(base + "/login")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("form button[type=submit]")

    def upload(base: str, *, start: bool) -> str:
        page.goto(base + "/contacts/import")
        page.set_input_files("#f-file", str(csv_path))
        page.click("form[enctype] button[type=submit]")
        page.wait_for_url(re.compile(r".*/contacts/import/[0-9a-f]{32}/columns$"))
        import_id = page.url.rsplit("/", 2)[-2]
        if start:
            page.click("#start-import")
            page.wait_for_selector('[data-count="imported"]')
        return import_id

    csv_path = tmp_path / "a11y.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    with serve(create_app(config, database=database)) as base:
        page.goto(base + "/setup")
        for language in LANGUAGES:
            speak(language)
            for visit in (v for v in visits if v.who == "first-run"):
                audit(base, visit, {}, language)

        ids = seed_tour(database, config)
        with database.session() as session:
            create_user(session, email="marketer@example.com", password=PASSWORD, role="marketer", name="Wang")

        log_in(base, "admin@example.com")
        ids["import_mapping"] = upload(base, start=False)
        ids["import_done"] = upload(base, start=True)
        for language in LANGUAGES:
            speak(language)
            for visit in (v for v in visits if v.who == "admin"):
                audit(base, visit, ids, language)

        with page.expect_navigation():
            page.click("#logout-form button")
        log_in(base, "marketer@example.com")
        for language in LANGUAGES:
            speak(language)
            for visit in (v for v in visits if v.who == "marketer"):
                audit(base, visit, ids, language)
        with page.expect_navigation():
            page.click("#logout-form button")

        # Each language unsubscribes a different recipient, so each finds the one-click button still there.
        recipients = _sent_messages(database, int(ids["run"]), len(LANGUAGES))
        for language, message_id in zip(LANGUAGES, recipients, strict=True):
            ids["unsubscribe"] = unsubscribe_url("", str(config.secret_key), message_id)
            page.goto(base + "/login")
            speak(language)
            for visit in (v for v in visits if v.who == "visitor"):
                audit(base, visit, ids, language)
            page.goto(base + str(ids["unsubscribe"]))
            with page.expect_navigation():
                page.click("button.save")
            check("preferences-saved", language)
            with page.expect_navigation():
                page.click("button.stop")
            check("unsubscribed", language)

    expected = {visit.name for visit in visits} | {"preferences-saved", "unsubscribed"}
    missing = {(language, name) for language in LANGUAGES for name in expected} - audited
    assert not missing, f"pages not audited: {sorted(missing)}"
    assert not problems, "\n".join(problems)
    listed = [f"{rule} ({impact}) {target} — {help_text}: {why}\n    on {len(pages)} pages: {', '.join(pages)}"
              for (rule, impact, target, help_text, why), pages in sorted(found.items())]
    assert not found, (f"axe-core {version} found {sum(map(len, found.values()))} WCAG 2 A/AA violations "
                       f"({len(found)} distinct):\n" + "\n".join(listed))
