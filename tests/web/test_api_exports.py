"""/api/v1/contacts/export and the import's mode, encoding and columns fields."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from tests.web.test_api import Api


@pytest.fixture
def api(client, api_token):
    return Api(client, api_token("marketer"))


def imported(api, data: bytes, **form) -> dict:
    response = api.post("/contacts/import", data={"file": (io.BytesIO(data), "c.csv"), **form},
                        content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    return response.json


def test_import_takes_mode_encoding_and_columns(api):
    first = imported(api, "邮箱,客户,积分\nann@example.com,Ann,90\n".encode("gbk"), encoding="gbk",
                     columns=json.dumps({"客户": "name", "积分": "attributes.points"}))
    assert (first["imported"], first["encoding"]) == (1, "GBK")
    assert first["columns"] == {"邮箱": "email", "客户": "name", "积分": "attributes.points"}

    again = imported(api, b"email,name\nann@example.com,Annie\nbob@example.com,Bob\n", mode="new-only")
    assert (again["imported"], again["rejected_count"], again["mode"]) == (1, 1, "new-only")

    response = api.post("/contacts/import", data={"file": (io.BytesIO(b"email\nx@example.com\n"), "c.csv"),
                                                  "columns": "[1]"}, content_type="multipart/form-data")
    assert response.status_code == 422 and response.json["field"] == "columns"
    response = api.post("/contacts/import", data={"file": (io.BytesIO(b"email\nx@example.com\n"), "c.csv"),
                                                  "mode": "merge"}, content_type="multipart/form-data")
    assert response.status_code == 422 and 'import mode "merge"' in response.json["message"]


def test_import_takes_the_region_and_the_address_policy(api):
    from tests.audiences.imports import crm_export

    report = imported(api, crm_export.GBK, region="CN")
    assert (report["imported"], report["warned_count"], report["region"]) == (29, 3, "CN")
    assert report["warned"][0] == {"row": 28, "field": "phone", "value": "1381234560",
                                   "reason": report["warned"][0]["reason"], "values": report["warned"][0]["values"]}
    strict = imported(api, crm_export.GBK, region="CN", on_bad_address="reject-row")
    assert (strict["updated"], strict["rejected_count"], strict["on_bad_address"]) == (26, 5, "reject-row")
    response = api.post("/contacts/import", data={"file": (io.BytesIO(crm_export.GBK), "c.csv"), "region": "Mars"},
                        content_type="multipart/form-data")
    assert response.status_code == 422 and 'default region "Mars"' in response.json["message"]


def test_export_streams_csv_and_xlsx_with_chosen_columns(backend, api):
    imported(api, b'email,name,tier,tags,notes\nann@example.com,Ann,A,VIP,"=cmd|x"\nbob@example.com,Bob,B,,\n')
    the_list = api.post("/lists", json={"name": "VIP"}).json
    segment = api.post("/segments", json={"name": "A", "rules": {"all": [
        {"field": "value_tier", "op": "eq", "value": "A"}]}}).json

    response = api.get(f"/contacts/export?segment_id={segment['id']}&columns=email,tags,notes")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    response.close()
    assert rows == [["email", "tags", "notes"], ["ann@example.com", "VIP", "'=cmd|x"]]

    response = api.get("/contacts/export?format=xlsx&columns=email&columns=value_tier")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    response.close()
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["email", "value_tier"], ["ann@example.com", "A"], ["bob@example.com", "B"]]

    response = api.get(f"/contacts/export?list_id={the_list['id']}")
    assert response.get_data().decode("utf-8-sig").count("\n") == 1  # the header only: the list is empty
    response.close()


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("segment_id=999", 404, "segment 999 does not exist"),
        ("format=pdf", 422, 'export format "pdf" is not known'),
        ("columns=shoe", 422, '"shoe" is not a column an export can hold'),
        ("tag=nope", 404, 'no contact has the tag "nope"'),
    ],
)
def test_export_refuses_bad_requests_in_json(api, query, status, message):
    response = api.get(f"/contacts/export?{query}")
    assert response.status_code == status and message in response.json["message"]
