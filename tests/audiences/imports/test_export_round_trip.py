"""An export imports back unchanged: every column an export can write, in CSV and XLSX, read back by the
importer without any column mapping (the file as the user downloaded it), on SQLite and PostgreSQL.

In particular a column named `attributes.<key>` (what export writes and the docs give) fills the custom field
<key>, typed as its definition says, so a segment on it counts the contacts again."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from audiences import Contact, ContactSelection, count_segment, create_custom_field, import_contacts
from audiences.contacts.bulk import bulk_delete
from audiences.export import export_columns, export_contacts

# A CRM export with every kind of value: Chinese names, numbers that look like formulas, a multi-line note.
CRM = (
    "external_id,email,phone,first_name,last_name,company,country,locale,time_zone,birthday,region,"
    "lifecycle_stage,value_tier,source,notes,tags,积分,会员,入会日期,套餐,昵称\n"
    'C1,ann@example.com,+12015550101,Ann,Lee,Acme,US,en,America/New_York,1990-04-01,NY,loyal,A,fair,'
    '"=HYPERLINK(""http://evil"")",VIP,90,yes,2024-01-31,gold,Annie\n'
    'C2,wang@example.com,+8613800138000,芳,王,华为,CN,zh-CN,Asia/Shanghai,1985-12-24,广东,new,B,wechat,'
    '"+1 call me\nafter 6pm","VIP,展会",-5,no,2023-06-01,silver,\n'
    "C3,cat@example.com,,Cat,,,,,,,,,,,@SUM(A1),,7.5,,,,\n"
)
CUSTOM = {"积分": "attributes.score", "会员": "attributes.member", "入会日期": "attributes.joined",
          "套餐": "attributes.plan", "昵称": "attributes.nickname"}


@pytest.fixture
def crm(session, clock):
    now = clock.now()
    create_custom_field(session, key="score", label="Score", type="number", now=now)
    create_custom_field(session, key="member", label="Member", type="boolean", now=now)
    create_custom_field(session, key="joined", label="Joined", type="date", now=now)
    create_custom_field(session, key="plan", label="Plan", type="choice", choices=["gold", "silver"], now=now)
    create_custom_field(session, key="nickname", label="Nickname", type="text", now=now)
    report = import_contacts(session, io.BytesIO(CRM.encode()), filename="crm.csv", default_region="US", now=now,
                             columns=CUSTOM)
    assert (report.imported, report.rejected_count) == (3, 0), report.rejected
    return session


def as_rows(data: bytes, file_format: str) -> list[list[str]]:
    if file_format == "csv":
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(data)).active
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def export_all(session, clock, file_format: str) -> bytes:
    columns = export_columns(session)
    return b"".join(export_contacts(session, ContactSelection(), columns=columns, file_format=file_format,
                                    today=clock.now().date()).chunks())


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_of_every_column_imports_back_unchanged(backend, crm, clock, file_format):
    session = crm
    first = export_all(session, clock, file_format)
    header = as_rows(first, file_format)[0]
    assert {"id", "name", "tags", "created_at", "updated_at", "attributes.score"} <= set(header)
    bulk_delete(session, ContactSelection(), expected=3, today=clock.now().date())

    report = import_contacts(session, io.BytesIO(first), filename=f"contacts.{file_format}", default_region="US",
                             now=clock.advance(seconds=60))
    assert (report.imported, report.rejected_count) == (3, 0), report.rejected

    again = as_rows(export_all(session, clock, file_format), file_format)
    # Herald's own id and timestamps are new; everything the contacts hold is as it was.
    kept = [i for i, name in enumerate(header) if name not in ("id", "created_at", "updated_at")]
    assert [[row[i] for i in kept] for row in again] == [[row[i] for i in kept] for row in as_rows(first, file_format)]


def test_a_column_named_attributes_key_fills_the_typed_custom_field(backend, crm, clock):
    session = crm
    high = {"all": [{"field": "attributes.score", "op": "gt", "value": 50}]}
    assert count_segment(session, high, today=clock.now().date()) == 1
    data = b"email,attributes.score\nann@example.com,12\nwang@example.com,99\n"
    report = import_contacts(session, io.BytesIO(data), filename="scores.csv", default_region="US",
                             now=clock.advance(seconds=60))
    assert report.columns["attributes.score"] == "attributes.score"
    assert count_segment(session, high, today=clock.now().date()) == 1  # now Wang (99), not Ann (12)
    session.expire_all()
    scores = dict(session.execute(select(Contact.email, Contact.attributes)).all())
    assert scores["wang@example.com"]["score"] == 99 and "attributes.score" not in scores["wang@example.com"]
