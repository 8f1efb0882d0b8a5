"""CSV import: what lands, what is rejected and why, encodings, header aliases, dedupe and lists."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select

from audiences import Contact, ContactList, ListMember, import_contacts, write_error_file
from core.errors import Invalid


def run_import(session, clock, text: str | bytes, *, encoding: str = "utf-8", region: str = "US", **kwargs):
    data = text.encode(encoding) if isinstance(text, str) else text
    return import_contacts(
        session, io.BytesIO(data), filename="contacts.csv", default_region=region, now=clock.now(), **kwargs
    )


def contacts_by_email(session) -> dict[str, Contact]:
    session.expire_all()
    return {c.email: c for c in session.scalars(select(Contact)) if c.email}


GOOD_AND_BAD = """email,phone,first_name,last_name,birthday
ann@example.com,+1 201 555 0123,Ann,Lee,1990-05-17
not-an-email,,Bob,Bad,
,12345,Carl,Short,
,,Dora,Nobody,
eve@example.com,,Eve,Late,1990-02-30
Fred@Example.COM,(212) 555-0188,Fred,Ok,1985/1/5
"""


def test_good_rows_land_and_bad_rows_are_reported_with_line_and_reason(session, clock):
    report = run_import(session, clock, GOOD_AND_BAD)

    assert (report.imported, report.updated, report.total_rows) == (2, 0, 6)
    rejected = {r.row: r.reason for r in report.rejected}
    assert sorted(rejected) == [3, 4, 5, 6]
    assert 'email "not-an-email" is not a valid email address' in rejected[3]
    assert 'phone "12345" is not a valid phone number for region US' in rejected[4]
    assert "international form" in rejected[4]
    assert "neither an email nor a phone" in rejected[5]
    assert 'birthday "1990-02-30" is not a date' in rejected[6]
    assert report.rejected[0].values["first_name"] == "Bob"

    stored = contacts_by_email(session)
    assert set(stored) == {"ann@example.com", "fred@example.com"}
    assert stored["ann@example.com"].phone == "+12015550123"
    assert stored["ann@example.com"].birthday == date(1990, 5, 17)
    assert stored["fred@example.com"].phone == "+12125550188"
    assert stored["fred@example.com"].birthday == date(1985, 1, 5)
    assert stored["ann@example.com"].created_at == clock.now()


def test_a_row_with_several_bad_cells_names_each_of_them(session, clock):
    report = run_import(session, clock, "email,phone,country,time_zone\nx@,123,China,Mars/Base\n")

    reason = report.rejected[0].reason
    for part in ('email "x@"', 'phone "123"', 'country "China"', 'time_zone "Mars/Base"'):
        assert part in reason


def test_totals_add_up(session, clock):
    report = run_import(session, clock, GOOD_AND_BAD + ",,,,\n" + "ann@example.com,,,,\n")

    assert report.skipped == 1 and report.duplicates_in_file == 1
    assert report.total_rows == (
        report.imported + report.updated + report.duplicates_in_file + report.skipped + len(report.rejected)
    )


CHINESE_EXPORT = (
    "客户编号,姓名,手机,邮箱,公司,生日,城市,等级\nC001,王芳,13800138000,wang.fang@example.cn,华为,1988/3/8,北京,A\n"
)


def test_utf8_with_bom_and_chinese_headers(session, clock):
    report = run_import(session, clock, CHINESE_EXPORT, encoding="utf-8-sig", region="CN")

    assert report.encoding == "UTF-8 with BOM" and report.imported == 1
    assert report.columns == {
        "客户编号": "external_id",
        "姓名": "name",
        "手机": "phone",
        "邮箱": "email",
        "公司": "company",
        "生日": "birthday",
        "城市": "attributes.城市",
        "等级": "value_tier",
    }
    contact = session.scalars(select(Contact)).one()
    assert (contact.external_id, contact.last_name, contact.first_name) == ("C001", "王", "芳")
    assert contact.phone == "+8613800138000"
    assert contact.company == "华为" and contact.birthday == date(1988, 3, 8)
    assert contact.attributes == {"城市": "北京"} and contact.value_tier == "A"


def test_gb18030_file_from_chinese_excel_is_detected(session, clock):
    report = run_import(session, clock, CHINESE_EXPORT, encoding="gb18030", region="CN")

    assert report.encoding == "GB18030" and report.imported == 1 and not report.rejected
    contact = session.scalars(select(Contact)).one()
    assert contact.last_name + contact.first_name == "王芳"
    assert contact.attributes["城市"] == "北京"


def test_gb18030_is_detected_even_when_the_first_chunk_is_ascii(session, clock):
    # An English header and thousands of ASCII rows before the first Chinese name: the encoding is
    # decided by the first chunk that holds a non-ASCII byte, not blindly by the first 64 KiB.
    lines = ["email,name,city"] + [f"user{i}@example.com,User {i},Boston" for i in range(3000)]
    lines.append("li.wei@example.cn,李伟,上海")
    report = run_import(session, clock, "\n".join(lines) + "\n", encoding="gb18030")

    assert report.encoding == "GB18030" and report.imported == 3001 and not report.rejected
    li = contacts_by_email(session)["li.wei@example.cn"]
    assert (li.last_name, li.first_name, li.attributes) == ("李", "伟", {"city": "上海"})


def test_undecodable_bytes_reject_only_their_row(session, clock):
    data = "email,name\nann@example.com,王芳\n".encode() + b"bob@example.com,\xff\xfe\n"
    report = run_import(session, clock, data)

    assert report.imported == 1
    assert report.rejected[0].row == 3 and "could not be decoded" in report.rejected[0].reason


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("电子邮件", "email"),
        ("Mobile", "phone"),
        ("手机号", "phone"),
        ("电话", "phone"),
        ("FirstName", "first_name"),
        ("名", "first_name"),
        ("Surname", "last_name"),
        ("姓", "last_name"),
        ("Full Name", "name"),
        ("ID", "external_id"),
        ("公司", "company"),
        ("国家", "country"),
        ("TimeZone", "time_zone"),
        ("Locale", "locale"),
    ],
)
def test_header_aliases_are_case_insensitive(session, clock, header, field):
    key = "Phone" if field == "email" else "EMAIL"
    report = run_import(session, clock, f"{key},{header}\n")

    assert report.columns[header] == field


def test_fields_from_aliases_are_normalised(session, clock):
    text = (
        "E-Mail,Mobile,Full Name,Country,TimeZone,Locale\n"
        "ANN@EXAMPLE.COM,2015550123,Mary Ann Smith,us,america/new_york,zh-cn\n"
    )
    run_import(session, clock, text)

    ann = contacts_by_email(session)["ann@example.com"]
    assert (ann.first_name, ann.last_name) == ("Mary Ann", "Smith")
    assert (ann.phone, ann.country, ann.time_zone, ann.locale) == ("+12015550123", "US", "America/New_York", "zh_CN")


def test_semicolon_separated_files_are_read(session, clock):
    report = run_import(session, clock, "email;first_name;level\nann@example.com;Ann;A\n")

    assert report.imported == 1
    assert contacts_by_email(session)["ann@example.com"].attributes == {"level": "A"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "contacts.csv is empty"),
        (b"\n\n  \n", "has no rows"),
        (b"first_name,last_name\nAnn,Lee\n", 'no email or phone column among "first_name", "last_name"'),
        (b"ann@example.com,+12015550123\n", "the first line looks like a contact, not a header"),
        (b"PK\x03\x04rest-of-a-zip", "is not a readable Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old", r"is an old Excel 97–2003 workbook \(.xls\)"),
        (b"email,note,note\n", 'column "note" appears twice'),
    ],
)
def test_unusable_files_are_refused_before_anything_is_written(session, clock, data, message):
    with pytest.raises(Invalid, match=message):
        run_import(session, clock, data, list_name="never made")

    assert session.scalar(select(func.count()).select_from(Contact)) == 0
    assert session.scalar(select(func.count()).select_from(ContactList)) == 0


def test_unknown_default_region_is_refused(session, clock):
    with pytest.raises(Invalid, match='default region "XX"'):
        run_import(session, clock, "email\nann@example.com\n", region="XX")


def test_existing_contacts_are_updated_by_email_phone_and_external_id(session, clock):
    run_import(
        session,
        clock,
        "id,email,phone,first_name,level,city\n"
        "X1,ann@example.com,,Ann,A,Boston\n"
        ",bob@example.com,+12015550100,Bob,B,\n"
        ",,+12015550101,Cat,C,\n",
    )
    clock.advance(days=1)
    report = run_import(
        session,
        clock,
        "id,email,phone,last_name,level\n"
        "X1,ann.new@example.com,,Lee,B\n"  # by external_id: the email changes
        ",BOB@example.com,,Brown,\n"  # by email
        ",cat@example.com,2015550101,,A\n",  # by phone (national form, same number)
    )

    assert (report.imported, report.updated) == (0, 3)
    stored = contacts_by_email(session)
    assert set(stored) == {"ann.new@example.com", "bob@example.com", "cat@example.com"}
    ann, bob, cat = stored["ann.new@example.com"], stored["bob@example.com"], stored["cat@example.com"]
    assert (ann.external_id, ann.first_name, ann.last_name) == ("X1", "Ann", "Lee")
    assert ann.attributes == {"level": "B", "city": "Boston"}  # merged, not replaced
    assert (bob.first_name, bob.last_name, bob.phone) == ("Bob", "Brown", "+12015550100")  # empty cells keep values
    assert (cat.first_name, cat.phone, cat.attributes) == ("Cat", "+12015550101", {"level": "A"})
    assert ann.updated_at == clock.now() and ann.created_at < clock.now()


def test_a_different_external_id_is_a_different_customer_even_with_the_same_email(session, clock):
    run_import(session, clock, "id,email\nX1,family@example.com\n")
    report = run_import(session, clock, "id,email\nX2,family@example.com\n")

    assert report.imported == 1
    assert sorted(session.scalars(select(Contact.external_id))) == ["X1", "X2"]


def test_within_file_duplicates_update_one_contact(session, clock):
    text = (
        "email,phone,first_name,level\n"
        "ann@example.com,,Ann,A\n"
        "bob@example.com,,Bob,B\n"
        "ANN@example.com,+12015550123,,C\n"  # same email: adds the phone, overwrites the level
        ",+12015550123,Annie,\n"  # same phone as the row above
    )
    report = run_import(session, clock, text, chunk_rows=2)  # the duplicates straddle a chunk boundary

    assert (report.imported, report.duplicates_in_file) == (2, 2)
    ann = contacts_by_email(session)["ann@example.com"]
    assert (ann.first_name, ann.phone, ann.attributes) == ("Annie", "+12015550123", {"level": "C"})
    assert session.scalar(select(func.count()).select_from(Contact)) == 2


def test_list_gets_every_good_row_once_even_when_reimported(session, clock):
    text = "email,phone\nann@example.com,\nbob@example.com,\nann@example.com,\nbad,\n"
    first = run_import(session, clock, text, list_name="Spring fair")
    second = run_import(session, clock, text + "cat@example.com,\n", list_name="Spring fair")

    assert first.list_id == second.list_id
    members = session.scalars(
        select(Contact.email)
        .join(ListMember, ListMember.contact_id == Contact.id)
        .where(ListMember.list_id == first.list_id)
    ).all()
    assert sorted(members) == ["ann@example.com", "bob@example.com", "cat@example.com"]
    assert second.updated == 2 and second.imported == 1


def test_list_is_made_even_when_no_row_is_good(session, clock):
    report = run_import(session, clock, "email\nbad\n", list_name="Empty so far")

    assert session.get(ContactList, report.list_id).name == "Empty so far"


def test_excel_text_wrapped_cells_are_unwrapped(session, clock):
    run_import(session, clock, 'email,id\nann@example.com,"=""00123"""\n')

    assert contacts_by_email(session)["ann@example.com"].external_id == "00123"


def test_quoted_multiline_cells_keep_line_numbers_right(session, clock):
    report = run_import(session, clock, 'email,note\nann@example.com,"line one\nline two"\nbad,x\n')

    assert contacts_by_email(session)["ann@example.com"].notes == "line one\nline two"
    assert report.rejected[0].row == 4


def test_error_file_has_original_columns_reason_and_no_live_formulas(session, clock, tmp_path):
    text = 'email,phone,note\n=HYPERLINK("http://evil"),+12015550123,@SUM(A1)\n,-1,ok\nann@example.com,,fine\n'
    report = run_import(session, clock, text)

    path = write_error_file(report, tmp_path / "out" / "errors.csv")

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads Chinese as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["email", "phone", "note", "error"]
    assert rows[1][:3] == ['\'=HYPERLINK("http://evil")', "'+12015550123", "'@SUM(A1)"]
    assert rows[1][3].startswith("line 2: ")
    assert rows[2][:3] == ["", "'-1", "ok"]
    assert "line 3:" in rows[2][3]
    assert len(rows) == 3


def test_report_serialises_for_the_api(session, clock):
    data = run_import(session, clock, GOOD_AND_BAD).to_dict()

    assert data["imported"] == 2 and data["rejected_count"] == 4
    assert data["rejected"][0] == {
        "row": 3,
        "reason": data["rejected"][0]["reason"],
        "values": {"email": "not-an-email", "phone": "", "first_name": "Bob", "last_name": "Bad", "birthday": ""},
    }


def test_contacts_already_loaded_in_the_session_see_the_update(session, clock):
    run_import(session, clock, "email,first_name\nann@example.com,Ann\n")
    ann = session.scalars(select(Contact)).one()

    run_import(session, clock, "email,first_name\nann@example.com,Annie\n")

    assert ann.first_name == "Annie"


def test_an_unreadable_line_stops_the_import_and_says_where(session, clock):
    huge = "y" * 200_000  # over the csv module's field size limit
    text = f"email,note\nann@example.com,x\nbob@example.com,{huge}\ncat@example.com,z\n"

    report = run_import(session, clock, text)

    assert set(contacts_by_email(session)) == {"ann@example.com"}
    assert report.rejected[0].row == 3
    assert "cannot be read from this line on" in report.rejected[0].reason
