"""The first import of a Chinese SMB: bare mobiles read in the chosen region, a bad address costs only that
address (a warning), the contact's country comes from its number, Herald's own error file imports back."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from audiences import Contact, import_contacts, write_error_file
from core.errors import Invalid
from tests.audiences.imports import crm_export


def run_import(session, clock, data: bytes, *, region: str = "CN", **kwargs):
    return import_contacts(session, io.BytesIO(data), filename="客户.csv", default_region=region, now=clock.now(),
                           **kwargs)


def contacts(session) -> dict[str, Contact]:
    session.expire_all()
    return {c.external_id: c for c in session.scalars(select(Contact))}


def test_the_gbk_crm_export_with_bare_mobiles_lands_every_good_row(backend, session, clock, tmp_path):
    errors = tmp_path / "errors.csv"
    report = run_import(session, clock, crm_export.GBK, error_file=errors)

    assert report.encoding == "GB18030" and report.region == "CN"
    assert report.total_rows == 31
    assert (report.imported, report.rejected_count, report.warned_count) == (
        crm_export.GOOD + crm_export.WARNED, crm_export.REJECTED, crm_export.WARNED)
    assert {w.row: w.field for w in report.warned} == crm_export.WARNED_LINES
    assert tuple(r.row for r in report.rejected) == crm_export.REJECTED_LINES
    stored = contacts(session)
    assert len(stored) == 29
    assert [stored[f"C00{n}"].phone for n in range(1, 8)] == [f"+86138123456{n:02d}" for n in range(1, 8)]
    assert stored["C009"].phone == "+862168888888" and stored["C021"].phone == "+14155550100"
    # Landed without the bad address, with the good one.
    assert (stored["C027"].phone, stored["C027"].email) == (None, "han.han@example.cn")
    assert (stored["C028"].phone, stored["C028"].email) == ("+8613812345628", None)
    assert stored["C029"].phone is None
    assert (stored["C001"].last_name, stored["C001"].first_name, stored["C001"].region) == ("王", "芳", "上海")


def test_the_country_comes_from_the_number_when_the_row_has_none(backend, session, clock):
    run_import(session, clock, crm_export.GBK)
    stored = contacts(session)
    assert {stored[k].country for k in ("C001", "C002", "C009")} == {"CN"}
    assert stored["C021"].country == "US"
    assert stored["C022"].country is None  # email only: nothing to tell

    # A country the file gives wins; a later import does not overwrite the one the contact has.
    run_import(session, clock, "客户编号,手机,国家\nC030,+85291234567,SG\nC001,+85291234568,\n".encode("gbk"))
    stored = contacts(session)
    assert (stored["C030"].country, stored["C001"].country, stored["C001"].phone) == ("SG", "CN", "+85291234568")


def test_a_warning_names_the_field_dropped_why_and_the_fix(session, clock, tmp_path):
    errors = tmp_path / "errors.csv"
    report = run_import(session, clock, crm_export.GBK, error_file=errors)

    by_line = {w.row: w for w in report.warned}
    assert by_line[28].value == "1381234560"
    assert '手机 (phone) "1381234560" is not a valid phone number for region CN' in by_line[28].reason
    assert "international form" in by_line[28].reason
    assert "scientific notation" in by_line[30].reason and "Text" in by_line[30].reason
    assert '邮箱 (email) "xu.qing@" is not a valid email address' in by_line[29].reason
    rejected = {r.row: r.reason for r in report.rejected}
    assert '(phone) "12345" is not a valid phone number' in rejected[31] and '(email) "feng@"' in rejected[31]
    assert "neither an email nor a phone" in rejected[32]
    assert "1 landed" not in report.summary() and "(3 landed without a bad email or phone)" in report.summary()

    with errors.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [*crm_export.HEADER.split(","), "error"]
    assert [row[0] for row in rows[1:]] == ["C027", "C028", "C029", "C030", "C031"]
    assert rows[1][-1].startswith('line 28: imported without phone: 手机 (phone) "1381234560" is not a valid')
    assert "import the file again to add the phone" in rows[1][-1]
    assert rows[4][-1].startswith('line 31: 邮箱 (email) "feng@"') and '手机 (phone) "12345"' in rows[4][-1]


def test_reject_row_rejects_a_row_with_any_bad_address(session, clock):
    report = run_import(session, clock, crm_export.GBK, on_bad_address="reject-row")

    assert (report.imported, report.rejected_count, report.warned_count) == (crm_export.GOOD, 5, 0)
    assert report.on_bad_address == "reject-row"
    assert "C027" not in contacts(session)


def test_an_unknown_address_policy_is_refused_before_anything_is_written(session, clock):
    with pytest.raises(Invalid, match='on_bad_address "skip" is not known; use one of: drop-field, reject-row'):
        run_import(session, clock, crm_export.GBK, on_bad_address="skip")
    assert not contacts(session)


def test_a_row_matched_by_external_id_keeps_the_contact_and_warns(session, clock):
    run_import(session, clock, "客户编号,手机\nC001,13812345601\n".encode("gbk"))
    report = run_import(session, clock, "客户编号,手机,公司\nC001,1381234,新公司\nC002,1381234,\n".encode("gbk"))

    assert (report.updated, report.warned_count, report.rejected_count) == (1, 1, 1)
    assert '(phone) "1381234"' in report.rejected[0].reason  # new, and its only address was bad
    assert (contacts(session)["C001"].phone, contacts(session)["C001"].company) == ("+8613812345601", "新公司")


def test_bare_mobiles_read_as_us_numbers_are_what_lost_the_list(session, clock):
    # The old default region and policy: only rows with +country code, or with an email and no phone, landed.
    report = run_import(session, clock, crm_export.GBK, region="US", on_bad_address="reject-row")
    assert (report.imported, report.rejected_count) == (4, 27)


def test_re_importing_the_error_file_ignores_its_error_column(backend, session, clock, tmp_path):
    errors = tmp_path / "errors.csv"
    run_import(session, clock, crm_export.GBK, error_file=errors)
    fixed = errors.read_text(encoding="utf-8-sig").replace("1381234560,", "13812345627,").replace("feng@", "feng@x.cn")

    report = run_import(session, clock, fixed.encode("utf-8-sig"))

    assert report.columns["error"] == "ignored"
    assert (report.updated, report.imported) == (3, 1)
    stored = contacts(session)
    assert stored["C027"].phone == "+8613812345627" and stored["C030"].email == "feng@x.cn"
    assert all("error" not in (c.attributes or {}) for c in stored.values())


def test_an_error_file_of_an_error_file_has_one_fresh_error_column(session, clock, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    run_import(session, clock, crm_export.GBK, error_file=first)
    report = run_import(session, clock, first.read_bytes(), error_file=second)

    with second.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == [*crm_export.HEADER.split(","), "error"]
    assert all(row[-1].startswith("line ") and row[-1].count("line ") == 1 for row in rows)
    write_error_file(report, tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_text(encoding="utf-8-sig").splitlines()[0].endswith("备注,error")


def test_an_error_column_mapped_on_purpose_is_kept(session, clock):
    report = run_import(session, clock, b"email,import error\nann@example.com,disk full\n",
                        columns={"import error": "attributes.crm_error"})
    assert report.columns["import error"] == "attributes.crm_error"
    assert contacts(session)[None].attributes == {"crm_error": "disk full"}


def ascii_rows(size: int) -> bytes:
    """A header and ASCII rows, exactly `size` bytes ending in a line break (the last company padded)."""
    text = "email,phone,company\r\n"
    n = 0
    while len(text) < size - 200:
        n += 1
        text += f"user{n}@example.com,+1201555{n:04d},Acme\r\n"
    last = "last@example.com,+12015559999,"
    return (text + last + "A" * (size - len(text) - len(last) - 2) + "\r\n").encode("ascii")


def test_gbk_is_detected_when_the_first_chinese_happens_to_be_valid_utf8(session, clock):
    # 伟业 in GBK (CE B0 D2 B5) is also valid UTF-8. Alone at the end of the first 64 KiB it once decided the
    # file was UTF-8, and every Chinese row after it was rejected as undecodable.
    first = "wy@example.com,13800138000,伟业\r\n".encode("gbk")
    data = ascii_rows(65536 - len(first) - 4) + first
    data += "".join(f"cn{n}@example.cn,1381234{n:04d},王芳贸易{n}\r\n" for n in range(200)).encode("gbk")
    assert b"\xce\xb0\xd2\xb5".decode("utf-8") and data.index("王".encode("gbk")) > 65536

    report = run_import(session, clock, data)

    assert report.encoding == "GB18030" and report.rejected_count == 0
    companies = {c.company for c in session.scalars(select(Contact))}
    assert {"伟业", "王芳贸易0", "王芳贸易199"} <= companies


def test_a_chunk_cut_inside_a_character_does_not_decide_the_encoding(session, clock):
    # The only non-ASCII byte of the first chunk is the first half of a GBK character: valid as the start of
    # a UTF-8 sequence, so it once decided UTF-8.
    data = ascii_rows(65536 - len("x@example.com,+12015550000,") - 1) + b"x@example.com,+12015550000,"
    data += "王芳\r\ny@example.com,+12015550001,李雷\r\n".encode("gbk")
    assert data[65535:65537] == "王".encode("gbk") and data[65535] >= 0xC0

    report = run_import(session, clock, data)

    assert report.encoding == "GB18030" and report.rejected_count == 0
    assert {"王芳", "李雷"} <= {c.company for c in session.scalars(select(Contact))}


def test_the_import_command_takes_the_region_and_the_address_policy(config, tmp_path):
    from tests.audiences.imports.test_export import herald

    path = tmp_path / "客户.csv"
    path.write_bytes(crm_export.GBK)

    result = herald(config, "contacts", "import", str(path), "--region", "cn")

    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("客户.csv: 29 imported, 0 updated, 0 skipped, 2 rejected (3 landed without a bad email "
                           "or phone) — rows to fix, with reasons, in ")
    assert "row 28: imported without phone: 手机 (phone) \"1381234560\"" in result.output
    strict = herald(config, "contacts", "import", str(path), "--region", "CN", "--on-bad-address", "reject-row")
    assert "0 imported, 26 updated, 0 skipped, 5 rejected — rows" in strict.output.strip().splitlines()[-1]
