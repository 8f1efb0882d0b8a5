"""In a real browser, a workspace set up in 简体中文 imports its CRM's GBK export with bare mobiles: the page
offers 中国 for numbers without +86, every good row lands, the rows with one bad address are listed with
what was left out. Screenshots of each step (in Chinese, the upload page in English too) go to the test's
tmp directory."""

from __future__ import annotations

import re

import pytest

from core.users import create_user
from tests.audiences.imports import crm_export
from tests.conftest import make_config
from tests.web.test_browser import browser, server  # noqa: F401 - the same served app and chromium

pytestmark = pytest.mark.browser
PASSWORD = "a long password"


@pytest.fixture
def config(tmp_path, db_url):
    return make_config(tmp_path, db_url, HERALD_DEFAULT_LOCALE="zh_CN")


@pytest.fixture
def admin(database):
    with database.session() as session:
        create_user(session, email="lin@example.com", password=PASSWORD, role="admin", name="林")


def test_the_gbk_crm_export_lands_every_good_row_in_a_chinese_workspace(browser, server, admin, tmp_path):  # noqa: F811
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    refused: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and refused.append(msg.text))

    def shoot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(server + "/login")
    page.fill("#f-email", "lin@example.com")
    page.fill("#f-password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(server + "/")

    page.goto(server + "/contacts/import")
    assert page.input_value("#f-region") == "CN"
    assert page.locator("#f-region option:checked").text_content() == "中国 (CN, +86)"
    assert page.input_value("#f-on_bad_address") == "drop-field"
    assert page.locator("label[for=f-region]").text_content().startswith("没有 +国家代码的手机号")
    shoot("01-import-zh")

    csv_path = tmp_path / "客户导出.csv"
    csv_path.write_bytes(crm_export.GBK)
    page.set_input_files("#f-file", str(csv_path))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_url(re.compile(r".*/contacts/import/[0-9a-f]{32}/columns$"))
    assert "中国 (CN, +86)" in page.text_content("#import-choices")
    assert "GB18030" in page.content()
    shoot("02-columns-zh")
    page.click("#start-import")
    page.wait_for_selector('[data-count="imported"]')
    assert page.text_content('[data-count="imported"]').strip() == "29"
    assert page.text_content('[data-count="warned"]').strip() == "3"
    assert page.text_content('[data-count="rejected"]').strip() == "2"
    assert [c.strip() for c in page.locator("tr.warned-row td.num").all_text_contents()] == ["28", "29", "30"]
    shoot("03-result-zh")

    page.goto(server + "/contacts")
    assert "王芳" in page.content() and "+8613812345602" in page.content() and "共 29 位客户" in page.content()
    shoot("04-contacts-zh")

    # A segment on region: the editor offers the spellings contacts have, and says 上海市 is not 上海.
    from playwright.sync_api import expect

    page.goto(server + "/segments/new")
    page.click('#segment-builder [data-add="condition"]')
    rule = page.locator(".segment-condition").nth(0)
    rule.locator("select.segment-field").select_option("region")
    rule.locator("select.segment-op").select_option("eq")
    value = rule.locator("input.segment-value")
    value.fill("上海")
    hint = rule.locator(".segment-hint")
    expect(hint).to_be_visible()
    assert "“上海市” (1)" in hint.text_content()
    expect(page.locator('[data-segment="count"]')).to_have_text("5")
    offered = page.locator("datalist#" + value.get_attribute("list") + " option")
    assert offered.count() == 17 and offered.first.get_attribute("value") == "上海"
    assert offered.first.get_attribute("label") == "5 位客户"
    shoot("05-segment-region-zh")
    rule.locator("select.segment-op").select_option("in")
    rule.locator("input.segment-value").fill("上海, 上海市")
    expect(page.locator('[data-segment="count"]')).to_have_text("6")
    expect(rule.locator(".segment-hint")).to_be_hidden()

    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    page.goto(server + "/contacts/import")
    assert page.locator("#f-region option:checked").text_content() == "China (CN, +86)"
    shoot("06-import-en")
    assert not refused, refused
