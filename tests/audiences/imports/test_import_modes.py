"""Import on SQLite and PostgreSQL: merge modes, encodings, XLSX, Chinese headers, column mapping, duplicates
within the file and against the database, and an error file that holds exactly the bad rows."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from audiences import Contact, import_contacts
from audiences.imports.mapping import propose_columns
from core.errors import Invalid

SEED = "id,email,phone,first_name,level\nX1,ann@example.com,,Ann,A\n,bob@example.com,+12015550100,Bob,B\n"
# Row 2 matches Ann by external id, row 3 Bob by phone, row 4 is new, row 5 is bad, row 6 repeats row 4.
SECOND = (
    "id,email,phone,first_name,level\n"
    "X1,,,Annie,C\n"
    ",,2015550100,Bobby,\n"
    ",cat@example.com,,Cat,A\n"
    ",not-an-email,,Dan,B\n"
    ",CAT@example.com,+12015550111,,D\n"
)


def run(session, clock, data: bytes | str, *, filename: str = "contacts.csv", **kwargs):
    raw = data.encode() if isinstance(data, str) else data
    return import_contacts(session, io.BytesIO(raw), filename=filename, default_region=kwargs.pop("region", "US"),
                           now=clock.now(), **kwargs)


def stored(session) -> dict[str, Contact]:
    session.expire_all()
    return {c.first_name: c for c in session.scalars(select(Contact))}


def read_error_file(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def test_update_mode_changes_matches_adds_new_and_reports_duplicates(backend, session, clock, tmp_path):
    run(session, clock, SEED)
    errors = tmp_path / "errors.csv"

    report = run(session, clock, SECOND, error_file=errors, chunk_rows=2)

    assert (report.imported, report.updated, report.duplicates_in_file, report.rejected_count) == (1, 2, 1, 1)
    assert [(d.row, d.first_row, d.matched_by) for d in report.duplicates] == [(6, 4, "email")]
    people = stored(session)
    assert set(people) == {"Annie", "Bobby", "Cat"}
    assert people["Annie"].attributes == {"level": "C"}
    assert people["Cat"].phone == "+12015550111" and people["Cat"].attributes == {"level": "D"}
    rows = read_error_file(errors)
    assert rows == [["id", "email", "phone", "first_name", "level", "error"],
                    ["", "not-an-email", "", "Dan", "B", rows[1][5]]]
    assert rows[1][5].startswith('line 5: email "not-an-email" is not a valid email address')


def test_skip_mode_leaves_existing_contacts_alone(backend, session, clock):
    run(session, clock, SEED)

    report = run(session, clock, SECOND, mode="skip", list_name="Second file")

    assert (report.imported, report.updated, report.skipped_existing, report.skipped) == (1, 0, 2, 2)
    assert report.total_rows == (report.imported + report.updated + report.duplicates_in_file + report.skipped
                                 + report.rejected_count)
    people = stored(session)
    assert set(people) == {"Ann", "Bob", "Cat"}
    assert people["Ann"].attributes == {"level": "A"}
    # The skipped contacts were in the file, so they are on its list as well.
    from audiences import count_contacts
    assert count_contacts(session, report.list_id) == 3


def test_new_only_mode_rejects_rows_of_existing_contacts_into_the_error_file(backend, session, clock, tmp_path):
    run(session, clock, SEED)
    errors = tmp_path / "errors.csv"

    report = run(session, clock, SECOND, mode="new-only", error_file=errors)

    assert (report.imported, report.updated, report.rejected_count) == (1, 0, 3)
    assert sorted(r.row for r in report.rejected) == [2, 3, 5]
    reasons = {r.row: r.reason for r in report.rejected}
    assert "external_id matches contact" in reasons[2] and "adds new contacts only" in reasons[2]
    assert "phone matches contact" in reasons[3]
    assert sorted(row[-1].split(":")[0] for row in read_error_file(errors)[1:]) == ["line 2", "line 3", "line 5"]
    assert stored(session)["Ann"].attributes == {"level": "A"}


def test_unknown_mode_is_refused(session, clock):
    with pytest.raises(Invalid, match='import mode "merge" is not known; use one of: update, skip, new-only'):
        run(session, clock, SEED, mode="merge")


CHINESE = "姓名,手机号,电子邮件,生日,公司,城市,备注列\n王芳,13800138000,wang@example.cn,1988/3/8,华为,北京,x\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_headers_in_every_encoding(backend, session, clock, encoding):
    report = run(session, clock, CHINESE.encode(encoding), region="CN")

    assert report.imported == 1 and report.rejected_count == 0
    assert report.columns["姓名"] == "name" and report.columns["手机号"] == "phone"
    assert report.columns["电子邮件"] == "email" and report.columns["生日"] == "birthday"
    contact = session.scalars(select(Contact)).one()
    assert (contact.last_name, contact.first_name, contact.phone) == ("王", "芳", "+8613800138000")
    assert contact.birthday == date(1988, 3, 8) and contact.attributes["城市"] == "北京"


def test_a_forced_encoding_wins_over_detection(session, clock):
    # "Ö" in Latin-1 is not GB18030 either; forcing gbk reads these bytes as the Chinese they are.
    data = "email,name\nli@example.cn,李伟\n".encode("gbk")

    report = run(session, clock, data, encoding="GBK")

    assert report.encoding == "GBK" and stored(session)["伟"].last_name == "李"


def test_an_unknown_encoding_is_refused(session, clock):
    with pytest.raises(Invalid, match='encoding "latin-9" is not one Herald reads'):
        run(session, clock, SEED, encoding="latin-9")


@pytest.mark.parametrize(
    ("header", "field"),
    [("名", "first_name"), ("姓", "last_name"), ("手机", "phone"), ("电话", "phone"), ("邮箱", "email"),
     ("公司", "company"), ("Mobile Phone", "phone"), ("E-mail", "email")],
)
def test_headers_are_proposed_as_fields(header, field):
    assert propose_columns([header])[header] == field


def test_a_second_column_for_a_taken_field_becomes_a_custom_field():
    assert propose_columns(["手机", "电话", ""]) == {"手机": "phone", "电话": "attributes.电话", "column 3": "ignored"}


def test_the_user_changes_the_mapping(backend, session, clock):
    data = "客户,联系方式,积分,内部备注\n李雷,+8613800138001,90,secret\n"

    report = run(session, clock, data, columns={"客户": "name", "联系方式": "phone", "积分": "attributes.points",
                                                "内部备注": "ignore"})

    assert report.columns == {"客户": "name", "联系方式": "phone", "积分": "attributes.points",
                              "内部备注": "ignored"}
    contact = session.scalars(select(Contact)).one()
    assert contact.phone == "+8613800138001" and contact.attributes == {"points": "90"}


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"nope": "email"}, 'has no column "nope"; its columns are "id", "email"'),
        ({"id": "shoe_size"}, 'column "id" cannot go to "shoe_size"; choose one of: email, phone'),
        ({"id": "email"}, 'columns "id" and "email" both go to email'),
        ({"email": "ignore"}, "no email or phone column"),
        ({"id": 'attributes.a"b'}, "is not a usable custom field name"),
    ],
)
def test_a_bad_mapping_is_refused_before_anything_is_written(session, clock, columns, message):
    with pytest.raises(Invalid, match=message):
        run(session, clock, "id,email\nX1,ann@example.com\n", columns=columns)
    assert session.scalar(select(func.count()).select_from(Contact)) == 0


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_with_numbers_dates_and_chinese_headers(backend, session, clock, tmp_path):
    data = xlsx([
        ["姓名", "手机", "邮箱", "生日", "积分"],
        ["王芳", 13800138000, "wang@example.cn", datetime(1988, 3, 8), 12.5],
        [None, None, None, None, None],
        ["坏行", 123, "bad@", None, 1],
        ["李雷", "+86 138 0013 8001", None, date(1990, 1, 2), 7],
    ])
    errors = tmp_path / "errors.csv"

    report = run(session, clock, data, filename="客户.xlsx", region="CN", error_file=errors)

    assert report.encoding == "XLSX"
    assert (report.imported, report.skipped, report.rejected_count, report.total_rows) == (2, 1, 1, 4)
    people = {c.last_name + c.first_name: c for c in session.scalars(select(Contact))}
    assert people["王芳"].phone == "+8613800138000" and people["王芳"].birthday == date(1988, 3, 8)
    assert people["王芳"].attributes == {"积分": "12.5"}
    assert people["李雷"].phone == "+8613800138001" and people["李雷"].attributes == {"积分": "7"}
    rows = read_error_file(errors)
    assert [row[:3] for row in rows] == [["姓名", "手机", "邮箱"], ["坏行", "123", "bad@"]]
    assert rows[1][-1].startswith("line 4: ")


def test_a_csv_upload_named_xlsx_is_still_read_as_csv(session, clock):
    report = run(session, clock, SEED, filename="contacts.xlsx")

    assert report.imported == 2


def test_the_error_file_lists_exactly_the_bad_rows(backend, session, clock, tmp_path):
    lines = ["email,phone,note"]
    bad = set()
    for n in range(1, 1200):
        if n % 7 == 0:
            lines.append(f"user{n}@,,=cmd|' /C calc'!A0")
            bad.add(n + 1)
        else:
            lines.append(f"user{n}@example.com,,ok")
    errors = tmp_path / "errors.csv"

    report = run(session, clock, "\n".join(lines) + "\n", error_file=errors)

    rows = read_error_file(errors)[1:]
    assert report.rejected_count == len(bad) == len(rows)
    assert {int(row[-1].split(":")[0].removeprefix("line ")) for row in rows} == bad
    assert all(row[2].startswith("'=") for row in rows)  # formulas neutralised
    assert report.imported == 1199 - len(bad)


def test_progress_is_reported_per_chunk(session, clock):
    seen: list[tuple[int, float | None]] = []
    lines = ["email"] + [f"user{n}@example.com" for n in range(50)]

    run(session, clock, "\n".join(lines) + "\n", chunk_rows=10,
        on_progress=lambda report, fraction: seen.append((report.imported, fraction)))

    assert [imported for imported, _ in seen] == [10, 20, 30, 40, 50, 50]
    assert seen[-1][1] == 1.0 and all(f is not None and 0 < f <= 1 for _, f in seen)


def test_tags_lifecycle_tier_and_typed_custom_fields(backend, session, clock, tmp_path):
    from audiences import create_custom_field, tags_of

    create_custom_field(session, key="points", label="积分", type="number", now=clock.now())
    create_custom_field(session, key="member", label="会员", type="boolean", now=clock.now())
    data = ("邮箱,标签,客户阶段,等级,积分,会员\n"
            "a@example.com,\"VIP, 展会2026\",忠诚,A类,90,是\n"
            "b@example.com,展会2026、新客,lead,b,abc,maybe\n"
            "c@example.com,,,C,1,否\n")
    errors = tmp_path / "errors.csv"

    report = run(session, clock, data, columns={"积分": "attributes.points", "会员": "attributes.member"},
                 error_file=errors)

    assert report.columns["标签"] == "tags" and report.columns["客户阶段"] == "lifecycle_stage"
    assert (report.imported, report.rejected_count) == (2, 1)
    reason = report.rejected[0].reason
    assert 'custom field "积分" (points) takes a number; "abc" is not one' in reason
    assert 'custom field "会员" (member) takes yes or no' in reason
    people = {c.email: c for c in session.scalars(select(Contact))}
    a, c = people["a@example.com"], people["c@example.com"]
    assert (a.lifecycle_stage, a.value_tier, a.attributes) == ("vip", "A", {"points": 90, "member": True}) or \
        (a.value_tier, a.attributes) == ("A", {"points": 90, "member": True})
    assert c.attributes == {"points": 1, "member": False} and c.value_tier == "C"
    assert tags_of(session, [a.id, c.id]) == {a.id: ["VIP", "展会2026"], c.id: []}

    # A second import adds tags; tags the contact has stay.
    run(session, clock, "邮箱,标签\na@example.com,回访\n")
    assert tags_of(session, [a.id]) == {a.id: ["VIP", "回访", "展会2026"]}


def test_checking_rows_in_worker_processes_gives_the_same_import(backend, session, clock, tmp_path):
    lines = ["id,email,phone,level"]
    for n in range(3000):
        email = f"user{n % 2500}@example.com" if n % 11 else f"broken{n}@"  # bad addresses and repeats
        phone = "123" if n % 7 == 0 and n % 11 else f"+1201555{n % 10_000:04d}"  # one bad address: warned
        external_id = f"C{n % 2800}" if n % 17 else "C" * 101  # too long: the row is rejected
        lines.append(f"{external_id},{email},{phone},{'AB'[n % 2]}")
    data = "\n".join(lines) + "\n"
    serial_errors, parallel_errors = tmp_path / "serial.csv", tmp_path / "parallel.csv"

    serial = run(session, clock, data, list_name="serial", error_file=serial_errors, workers=0)
    parallel = run(session, clock, data, list_name="parallel", error_file=parallel_errors, workers=2,
                   parallel_after=100)

    assert serial.rejected_count == parallel.rejected_count > 0
    assert serial.warned_count == parallel.warned_count > 0
    assert [(r.row, r.field) for r in serial.warned] == [(r.row, r.field) for r in parallel.warned]
    assert serial.imported + serial.duplicates_in_file == parallel.updated + parallel.duplicates_in_file
    assert [r.row for r in serial.rejected] == [r.row for r in parallel.rejected]
    assert serial_errors.read_bytes() == parallel_errors.read_bytes()
