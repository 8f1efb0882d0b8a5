"""Segment pages: the editor's live preview, saving, freezing into a list, and CSV/XLSX export downloads."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from audiences import create_segment, import_contacts

PEOPLE = ("email,name,等级,标签,备注\n"
          "ann@example.com,Ann Lee,A,VIP,=1+2\n"
          "bob@example.com,王芳,B,\"VIP,展会\",ok\n"
          "cat@example.com,Cat,C,,\n")
A_OR_B = {"any": [{"field": "value_tier", "op": "eq", "value": "A"},
                  {"field": "value_tier", "op": "eq", "value": "B"}]}


@pytest.fixture
def people(database, clock):
    with database.session() as session:
        import_contacts(session, io.BytesIO(PEOPLE.encode()), filename="p.csv", default_region="US", now=clock.now())


def test_the_preview_counts_samples_and_explains(logged_in_client, people):
    rules = {"all": [{"field": "tag", "op": "in", "value": ["VIP"]},
                     {"field": "value_tier", "op": "eq", "value": "A"}]}
    answer = logged_in_client.post("/segments/preview", json={"rules": rules}).json

    assert answer["ok"] and answer["count"] == 1
    assert [c["email"] for c in answer["sample"]] == ["ann@example.com"]
    assert [(e["path"], e["count_alone"], e["excluded"]) for e in answer["explain"]] == [
        ("rules.all[0]", 2, 0), ("rules.all[1]", 1, 1)]


def test_the_preview_names_a_bad_rule(logged_in_client):
    answer = logged_in_client.post("/segments/preview", json={"rules": {"all": [{"field": "shoe", "op": "eq",
                                                                                   "value": "x"}]}}).json

    assert answer == {"ok": False, "error": {"message": answer["error"]["message"], "path": "rules.all[0].field"}}
    assert '"shoe" is not a contact field' in answer["error"]["message"]


def test_an_analyst_may_preview_but_not_save(client, login, people):
    login(client, "analyst")
    assert client.post("/segments/preview", json={"rules": A_OR_B}).json["count"] == 2
    assert client.post("/segments/new", data={"name": "X", "rules": "{\"all\": []}"}).status_code == 403


def test_a_segment_is_saved_edited_and_refused_with_the_rule_named(logged_in_client, people):
    import json

    page = logged_in_client.get("/segments/new")
    assert page.status_code == 200 and 'id="segment-catalogue"' in page.get_data(as_text=True)

    response = logged_in_client.post("/segments/new", data={"name": "A or B", "rules": json.dumps(A_OR_B)})
    assert response.status_code == 303
    url = response.headers["Location"]
    assert "A or B" in logged_in_client.get("/segments").get_data(as_text=True)

    bad = {"all": [{"field": "value_tier", "op": "gt"}]}
    response = logged_in_client.post(url, data={"name": "A or B", "rules": json.dumps(bad)})
    assert response.status_code == 422
    assert "rules.all[0].value is missing" in response.get_data(as_text=True)
    response = logged_in_client.post("/segments/new", data={"name": "", "rules": json.dumps(A_OR_B)})
    assert response.status_code == 422 and "a segment needs a name" in response.get_data(as_text=True)


def test_freezing_copies_todays_members_into_a_list(logged_in_client, database, clock, people):
    with database.session() as session:
        segment = create_segment(session, name="A or B", rules=A_OR_B, now=clock.now())

    response = logged_in_client.post(f"/segments/{segment.id}/freeze", data={"list_name": "Frozen A/B"})

    assert response.status_code == 303 and "list=" in response.headers["Location"]
    assert re.search(r"Frozen A/B", logged_in_client.get("/lists").get_data(as_text=True))


def test_exports_download_csv_and_xlsx_with_formulas_neutralised(backend, logged_in_client, database, clock, people):
    with database.session() as session:
        segment = create_segment(session, name="A 或 B", rules=A_OR_B, now=clock.now())

    response = logged_in_client.get(f"/contacts/export?segment_id={segment.id}&format=csv&columns=email,notes,tags")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "filename*=UTF-8''A%20%E6%88%96%20B-" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    response.close()  # a streamed response holds its request's session until closed, as a server does
    assert rows == [["email", "notes", "tags"], ["ann@example.com", "'=1+2", "VIP"],
                    ["bob@example.com", "ok", "VIP, 展会"]]

    response = logged_in_client.get(f"/contacts/export?segment_id={segment.id}&format=xlsx&columns=email"
                                    "&columns=notes")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    response.close()
    assert [[c.value for c in row] for row in sheet.iter_rows()][1] == ["ann@example.com", "'=1+2"]

    response = logged_in_client.get("/contacts/export?format=pdf")
    assert response.status_code == 303


def test_the_contacts_page_exports_what_it_filters(logged_in_client, people):
    page = logged_in_client.get("/contacts?tag=VIP").get_data(as_text=True)
    link = re.search(r'id="export-contacts-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")

    response = logged_in_client.get(link + "&columns=email")
    rows = response.get_data().decode("utf-8-sig").splitlines()
    response.close()

    assert rows == ["email", "ann@example.com", "bob@example.com"]


def test_the_editor_offers_the_values_a_free_text_field_holds(logged_in_client, database, clock):
    from tests.audiences.imports import crm_export

    with database.session() as session:
        import_contacts(session, io.BytesIO(crm_export.GBK), filename="crm.csv", default_region="CN", now=clock.now())

    answer = logged_in_client.get("/segments/values?field=region").json
    regions = {item["value"]: item["contacts"] for item in answer["values"]}
    assert answer["ok"] and regions["上海"] == 5 and regions["上海市"] == 1  # both spellings, with their counts
    assert answer["values"][0] == {"value": "上海", "contacts": 5}  # the most common first
    refused = logged_in_client.get("/segments/values?field=phone")
    assert refused.status_code == 422 and "has no values to offer" in refused.json["error"]["message"]

    page = logged_in_client.get("/segments/new").get_data(as_text=True)
    assert 'data-values-url="/segments/values"' in page
    catalogue = re.search(r'<script type="application/json" id="segment-catalogue">(.*?)</script>', page, re.S)[1]
    import json

    fields = {f["key"]: f for _label, group in json.loads(catalogue)["groups"] for f in group}
    assert fields["region"]["values"] and fields["company"]["values"] and "values" not in fields["email"]
