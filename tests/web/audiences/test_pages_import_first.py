"""The import page of a first import: the country of bare numbers (the workspace's by default, 中国 for a
workspace set up in 简体中文), what a bad email or phone does, the warnings on the result page and in the
download, and Herald's own error file imported back with its reasons column ignored."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from audiences import Contact
from tests.audiences.imports import crm_export
from tests.conftest import make_config
from tests.web.audiences.test_pages_imports import finish, upload
from tests.web.conftest import PASSWORD
from web.app import create_app


@pytest.fixture
def chinese_client(tmp_path, db_url, database, clock, admin_user):
    """An admin's browser on a workspace set up in 简体中文 ([app] default_locale = zh_CN, no default_region)."""
    app = create_app(make_config(tmp_path, db_url, HERALD_DEFAULT_LOCALE="zh_CN"), database=database, clock=clock)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert client.post("/login", data={"email": "admin@example.com", "password": PASSWORD}).status_code == 302
    return app, client


def selected(page: str, name: str) -> str:
    select_html = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', page, re.S)[0]
    return re.search(r'<option value="([^"]*)" selected>([^<]*)<', select_html).groups()


def counts(page: str) -> dict[str, int]:
    return {key: int(value.replace(",", "")) for key, value in re.findall(r'data-count="(\w+)">([\d,]+)<', page)}


def test_a_chinese_workspace_imports_the_gbk_crm_export_without_choosing_anything(backend, chinese_client, database):
    app, client = chinese_client
    page = client.get("/contacts/import").get_data(as_text=True)
    assert selected(page, "region") == ("CN", "中国 (CN, +86)")
    assert selected(page, "on_bad_address")[0] == "drop-field"
    assert "没有 +国家代码的手机号所属国家" in page

    response = upload(client, crm_export.GBK, "客户.csv")
    assert response.status_code == 303
    columns_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "中国 (CN, +86)" in columns_page
    result_url = finish(client, app, response.headers["Location"])

    page = client.get(result_url).get_data(as_text=True)
    assert counts(page) == {"imported": 29, "updated": 0, "skipped": 0, "duplicates": 0, "rejected": 2, "warned": 3}
    warned = re.findall(r'<tr class="warned-row">\s*<td class="num">(\d+)</td>\s*<td>([^:]+):', page)
    assert warned == [("28", "手机号"), ("29", "邮箱"), ("30", "手机号")]
    with database.session() as session:
        stored = {c.external_id: c for c in session.scalars(select(Contact))}
    assert len(stored) == 29 and stored["C002"].phone == "+8613812345602" and stored["C002"].country == "CN"

    download = client.get(result_url + "/errors.csv")
    assert "rows-to-fix.csv" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data().decode("utf-8-sig"))))
    assert [row[0] for row in rows] == ["客户编号", "C027", "C028", "C029", "C030", "C031"]
    assert rows[1][-1].startswith("line 28: imported without phone")


def test_an_english_workspace_chooses_the_country_and_the_policy_per_file(logged_in_client, app, database):
    page = logged_in_client.get("/contacts/import").get_data(as_text=True)
    assert selected(page, "region") == ("US", "United States (US, +1)")
    options = re.findall(r'<option value="([A-Z]{2})"', page.split('name="region"')[1].split("</select>")[0])
    assert options[:3] == ["US", "CN", "HK"] and len(options) == len(set(options)) > 200

    response = upload(logged_in_client, crm_export.GBK, "crm.csv", region="CN", on_bad_address="reject-row")
    columns_page = logged_in_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Phone numbers without +country code: China (CN, +86)." in columns_page
    assert "A row with a bad email or phone: Reject the whole row." in columns_page
    page = logged_in_client.get(finish(logged_in_client, app, response.headers["Location"])).get_data(as_text=True)

    assert counts(page)["imported"] == 26 and counts(page)["rejected"] == 5 and "warned" not in counts(page)


def test_a_country_the_page_does_not_know_is_refused_naming_the_field(logged_in_client):
    response = upload(logged_in_client, crm_export.GBK, "crm.csv", region="China")
    assert response.status_code == 422
    assert "Choose the country of phone numbers written without +country code." in response.get_data(as_text=True)


def test_the_downloaded_rows_to_fix_import_back_with_their_reasons_ignored(logged_in_client, app, database):
    response = upload(logged_in_client, crm_export.GBK, "crm.csv", region="CN")
    result_url = finish(logged_in_client, app, response.headers["Location"])
    fixed = logged_in_client.get(result_url + "/errors.csv").get_data().decode("utf-8-sig")
    fixed = fixed.replace(",1381234560,", ",13812345627,")

    response = upload(logged_in_client, fixed.encode("utf-8-sig"), "crm-rows-to-fix.csv", region="CN")
    columns_page = logged_in_client.get(response.headers["Location"]).get_data(as_text=True)
    error_row = re.search(r'<tr class="column-row">\s*<td><strong[^>]*>error</strong>.*?</tr>', columns_page, re.S)[0]
    assert "error-column-note" in error_row and '<option value="ignored" selected>' in error_row
    page = logged_in_client.get(finish(logged_in_client, app, response.headers["Location"])).get_data(as_text=True)

    assert counts(page)["updated"] == 3
    with database.session() as session:
        stored = {c.external_id: c for c in session.scalars(select(Contact))}
    assert stored["C027"].phone == "+8613812345627"
    assert all("error" not in (c.attributes or {}) for c in stored.values())
