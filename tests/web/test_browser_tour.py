"""A tour of every page in a real browser, in English and in 简体中文, over a realistic database.

The database holds the demo data plus what a working week leaves behind: a completed campaign with
deliveries, a click and a conversion, a running one, a scheduled one, an event notice, a reply, a
segment, a custom field and a suppressed address. Every page must answer below 400, log no console
error and raise no script error; in Chinese the navigation must hold no untranslated English.
Set HERALD_TOUR_SHOTS=/some/dir to keep a full-page screenshot of each page there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.web.test_browser import browser  # noqa: F401 - the same chromium
from tests.web.tour_site import PASSWORD, config, tour_server  # noqa: F401 - the seeded site

pytestmark = pytest.mark.browser

CSV = "email,phone,name,tier\nli.lei@example.com,+8613800138001,李雷,A\nmary@example.com,+12015550104,Mary,B\n"
# The campaign pages' link to the report: (which campaign, how many links expected).
REPORT_LINK = {"campaign-scheduled": ("scheduled", 0), "campaign-completed": ("done", 1)}
# Latin words allowed in the Chinese navigation: the product's name.
BRAND = {"Herald"}


def _pages(ids: dict[str, object]) -> list[tuple[str, str]]:
    return [
        ("dashboard", "/"),
        ("contacts", "/contacts"),
        ("contact", f"/contacts/{ids['contact']}"),
        ("contact-edit", f"/contacts/{ids['contact']}/edit"),
        ("contact-new", "/contacts/new"),
        ("import", "/contacts/import"),
        ("lists", "/lists"),
        ("segments", "/segments"),
        ("segment-new", "/segments/new"),
        ("segment-edit", f"/segments/{ids['segment']}"),
        ("templates", "/templates"),
        ("template-new-sms", "/templates/new?channel=sms"),
        ("template-new-email", "/templates/new?channel=email"),
        ("template-edit", f"/templates/{ids['template']}"),
        ("campaigns", "/campaigns"),
        ("campaign-new", "/campaigns/new"),
        ("campaign-new-notice", "/campaigns/new?kind=event_notice"),
        ("campaign-draft", f"/campaigns/{ids['draft']}"),
        ("campaign-scheduled", f"/campaigns/{ids['scheduled']}"),
        ("campaign-running", f"/campaigns/{ids['running']}"),
        ("campaign-completed", f"/campaigns/{ids['done']}"),
        ("campaign-notice", f"/campaigns/{ids['notice']}"),
        ("campaign-schedule", f"/campaigns/{ids['draft']}/schedule/edit"),
        ("campaign-tracking", f"/campaigns/{ids['draft']}/tracking"),
        ("campaign-experiment", f"/campaigns/{ids['draft']}/experiment"),
        ("report", f"/reports/campaigns/{ids['done']}"),
        ("reports-overview", "/reports"),
        ("inbox", "/inbox"),
        ("conversions", "/conversions"),
        ("settings", "/settings"),
        ("custom-fields", "/settings/custom-fields"),
        ("suppressions", "/settings/suppressions"),
        ("rate-plans", "/settings/rate-plans"),
        ("users", "/users"),
        ("preferences", str(ids["unsubscribe"])),
    ]


def _english_words(text: str) -> list[str]:
    return [word for word in re.findall(r"[A-Za-z]{2,}", text) if word not in BRAND]


def test_every_page_opens_cleanly_in_english_and_chinese(browser, tour_server, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    base, ids = tour_server
    shots = Path(os.environ.get("HERALD_TOUR_SHOTS") or tmp_path / "tour")
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    problems: list[str] = []
    where = {"page": "login"}
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"{where['page']}: console: {msg.text}"))
    page.on("pageerror", lambda exc: problems.append(f"{where['page']}: script error: {exc}"))

    page.goto(base + "/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(base + "/")

    links: set[str] = set()
    for language in ("en", "zh_CN"):
        with page.expect_navigation():
            page.select_option("#lang-select", language)
        for name, path in _pages(ids):
            where["page"] = f"{language} {name}"
            response = page.goto(base + path)
            assert response is not None
            if response.status >= 400:
                problems.append(f"{where['page']}: HTTP {response.status} for {path}")
            page.wait_for_load_state("networkidle")
            if language == "zh_CN" and page.locator(".sidebar").count():
                # The menu, the footer line and the Log out button; crumbs hold names the user chose.
                chrome = " ".join(page.locator(selector).inner_text()
                                  for selector in (".sidebar .nav", ".sidebar-foot", "#logout-form"))
                if _english_words(chrome):
                    problems.append(f"{where['page']}: untranslated in the navigation: {_english_words(chrome)}")
                if re.search(r"\d/(second|minute|hour|day)", page.locator("main").inner_text()):
                    problems.append(f"{where['page']}: a send rate is shown untranslated (N/second)")
                if "计费条数" in chrome:  # the SMS billing count's word, once shared with the menu's Segments
                    problems.append(f"{where['page']}: the menu calls Segments 计费条数 (SMS billing segments)")
            if name == "segment-edit":  # the live preview answered: a sample, or a sentence saying none match
                expect(page.locator('[data-segment="count"]')).not_to_have_text("…")
                nobody = page.text_content('[data-segment="count"]').strip() == "0"
                if page.locator("#segment-sample-empty").is_visible() != nobody:
                    problems.append(f"{where['page']}: the preview's no-match sentence is wrong for the count")
            if name in REPORT_LINK:  # a report is offered once something was sent, not for a time still ahead
                campaign_id, expected = ids[REPORT_LINK[name][0]], REPORT_LINK[name][1]
                offered = page.locator(f'a[href="/reports/campaigns/{campaign_id}"]').count()
                if offered != expected:
                    problems.append(f"{where['page']}: {offered} links to the report, expected {expected}")
            if language == "en":
                links.update(page.eval_on_selector_all(
                    "a[href]:not([download])", "links => links.map(a => a.href)"))
            page.screenshot(path=str(shots / f"{language}-{name}.png"), full_page=True)

        # The import's mapping step needs an uploaded file.
        where["page"] = f"{language} import-columns"
        csv_path = tmp_path / "tour.csv"
        csv_path.write_text(CSV, encoding="utf-8")
        page.goto(base + "/contacts/import")
        page.set_input_files("#f-file", str(csv_path))
        page.click("form[enctype] button[type=submit]")
        page.wait_for_url(re.compile(r".*/contacts/import/[0-9a-f]{32}/columns$"))
        page.screenshot(path=str(shots / f"{language}-import-columns.png"), full_page=True)

    # Every link the pages offer leads somewhere (downloads aside: they are files, checked by their own tests).
    where["page"] = "links"
    for link in sorted(links):
        if link.startswith(base) and "#" not in link.removeprefix(base):
            status = page.request.get(link, max_redirects=0).status
            if status >= 400:
                problems.append(f"dead link: {link.removeprefix(base)} answers {status}")

    assert not problems, "\n".join(problems)
