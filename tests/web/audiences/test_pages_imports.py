"""Import pages: upload, the column mapping step (proposed from English and Chinese headers, changed by the user),
the background import with its progress, the result with duplicates and rejected rows, the error file."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from sqlalchemy import select

from audiences import Contact

CSV = (
    b"email,phone,name,tier\n"
    b"ann@example.com,,Ann Lee,A\n"
    b"not-an-email,,Bad Row,B\n"
    b"bob@example.com,+12015550102,Bob Smith,C\n"
    b",,Nobody,\n"
    b"ANN@example.com,,Annie,\n"
)


def upload(client, data: bytes, filename: str = "people.csv", **form):
    return client.post("/contacts/import", data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def finish(client, app, columns_url: str, form: dict[str, str] | None = None) -> str:
    """Post the mapping, wait for the background import, return the result page's URL."""
    response = client.post(columns_url, data=form or {})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    result_url = response.headers["Location"]
    import_id = result_url.rstrip("/").rpartition("/")[2]
    app.extensions["herald.import_jobs"].wait(import_id, timeout=60)
    return result_url


def test_upload_map_import_and_download_the_rejected_rows(backend, app, logged_in_client, config):
    response = upload(logged_in_client, CSV, list_name="Imported", mode="update")
    assert response.status_code == 303
    columns_url = response.headers["Location"]
    page = logged_in_client.get(columns_url).get_data(as_text=True)
    # The proposal, with the first values of each column to judge it by.
    assert re.search(r'<option value="value_tier" selected>', page)
    assert "ann@example.com · not-an-email · bob@example.com" in page

    result_url = finish(logged_in_client, app, columns_url, {"column-0": "email", "column-1": "phone",
                                                             "column-2": "name", "column-3": "value_tier"})

    page = logged_in_client.get(result_url).get_data(as_text=True)
    assert re.search(r'data-count="imported">2<', page)
    assert re.search(r'data-count="rejected">2<', page)
    assert re.search(r'data-count="duplicates">1<', page)
    rows = re.findall(r'<tr class="rejected-row">\s*<td class="num">(\d+)</td>\s*<td>([^<]+)</td>', page)
    assert [row for row, _ in rows] == ["3", "5"]
    assert "not-an-email" in rows[0][1]
    assert re.search(r'<tr class="duplicate-row"><td class="num">6</td><td class="num">2</td>', page)
    download = logged_in_client.get(result_url + "/errors.csv")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    text = download.get_data().decode("utf-8-sig")
    assert "not-an-email" in text and "error" in text.splitlines()[0] and len(text.splitlines()) == 3
    assert "Imported" in logged_in_client.get("/lists").get_data(as_text=True)
    assert not list((config.data_dir / "imports").glob("*.upload"))  # the upload is not kept


def test_a_chinese_xlsx_with_a_changed_mapping_and_a_new_custom_field(app, logged_in_client, database):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "联系方式", "积分", "内部"])
    sheet.append(["王芳", "+8613800138000", 90, "x"])
    out = io.BytesIO()
    workbook.save(out)

    response = upload(logged_in_client, out.getvalue(), "客户.xlsx", mode="skip")
    columns_url = response.headers["Location"]
    page = logged_in_client.get(columns_url).get_data(as_text=True)
    assert "客户.xlsx (XLSX)" in page

    result_url = finish(logged_in_client, app, columns_url, {"column-0": "name", "column-1": "phone",
                                                             "column-2": "custom", "custom-2": "points",
                                                             "column-3": "ignored"})

    assert re.search(r'data-count="imported">1<', logged_in_client.get(result_url).get_data(as_text=True))
    with database.session() as session:
        contact = session.scalars(select(Contact)).one()
        assert (contact.last_name, contact.phone, contact.attributes) == ("王", "+8613800138000", {"points": "90"})


def test_a_mapping_without_email_or_phone_is_refused_on_the_columns_page(logged_in_client):
    columns_url = upload(logged_in_client, b"name,city\nAnn,Paris\n").headers["Location"]
    assert logged_in_client.get(columns_url).status_code == 200  # the user may still map a column to phone

    response = logged_in_client.post(columns_url, data={"column-0": "ignored", "column-1": "ignored"})

    assert response.status_code == 422
    assert "no email or phone column" in response.get_data(as_text=True)


def test_the_progress_page_and_status_while_an_import_runs(app, logged_in_client, config):
    from web.import_jobs import write_state

    folder = config.data_dir / "imports"
    import_id = "a" * 32
    import os
    write_state(folder, import_id, {"status": "running", "pid": os.getpid(), "filename": "big.csv",
                                    "mode": "update", "progress": 0.42, "counts": {"imported": 4200}})

    page = logged_in_client.get(f"/contacts/import/{import_id}").get_data(as_text=True)
    assert 'data-status="running"' in page and "width: 42.0%" in page
    assert logged_in_client.get(f"/contacts/import/{import_id}/status").json == {
        "status": "running", "progress": 0.42, "counts": {"imported": 4200}, "error": None}

    write_state(folder, import_id, {"status": "running", "pid": 2**22 + 12345, "filename": "big.csv",
                                    "mode": "update"})
    page = logged_in_client.get(f"/contacts/import/{import_id}").get_data(as_text=True)
    assert "Herald was stopped during this import" in page


def test_an_import_without_a_file_or_with_a_bad_file_says_what_to_do(logged_in_client):
    response = logged_in_client.post("/contacts/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a CSV or Excel file" in response.get_data(as_text=True)
    response = upload(logged_in_client, b"", "x.csv")
    assert response.status_code == 422 and "x.csv is empty" in response.get_data(as_text=True)
    response = upload(logged_in_client, b"email,note,note\nann@example.com,a,b\n", "x.csv")
    assert response.status_code == 422 and "appears twice" in response.get_data(as_text=True)
    response = upload(logged_in_client, b"email\nann@example.com\n", "x.csv", encoding="latin-9")
    assert response.status_code == 422


def test_import_results_cannot_reach_other_files(logged_in_client):
    assert logged_in_client.get("/contacts/import/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert logged_in_client.get("/contacts/import/" + "0" * 32).status_code == 404
    assert logged_in_client.get("/contacts/import/" + "0" * 32 + "/columns").status_code == 404
