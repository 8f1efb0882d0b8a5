"""Export of a segment, a list or a selection to CSV and XLSX: chosen columns, tags and custom fields, formula
cells neutralised, on SQLite and PostgreSQL; and the `herald contacts import/export` commands."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from audiences import ContactSelection, create_custom_field, create_segment, import_contacts
from audiences.export import export_contacts
from core.errors import Invalid

PEOPLE = (
    "id,email,phone,姓名,等级,标签,积分,备注\n"
    "C1,ann@example.com,+12015550101,Ann Lee,A,VIP,90,=HYPERLINK(\"http://evil\")\n"
    "C2,bob@example.com,,王芳,B,\"VIP,展会\",-5,+1 call me\n"
    "C3,cat@example.com,,Cat,C,,7,@SUM(A1)\n"
)


@pytest.fixture
def people(session, clock):
    create_custom_field(session, key="points", label="积分", type="number", now=clock.now())
    import_contacts(session, io.BytesIO(PEOPLE.encode()), filename="people.csv", default_region="US",
                    now=clock.now(), list_name="Fair", columns={"积分": "attributes.points"})
    return session


def csv_rows(export) -> list[list[str]]:
    data = b"".join(export.chunks())
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_segment_exports_chosen_columns_with_tags_and_custom_fields(backend, people, clock):
    segment = create_segment(people, name="A or B", rules={"any": [{"field": "value_tier", "op": "in",
                                                                     "value": ["A", "B"]}]}, now=clock.now())
    export = export_contacts(people, ContactSelection(segment_id=segment.id), today=clock.now().date(),
                             columns=["name", "email", "value_tier", "tags", "attributes.points", "notes"])

    rows = csv_rows(export)

    assert rows[0] == ["name", "email", "value_tier", "tags", "attributes.points", "notes"]
    assert rows[1] == ["Ann Lee", "ann@example.com", "A", "VIP", "90", "'=HYPERLINK(\"http://evil\")"]
    assert rows[2] == ["王芳", "bob@example.com", "B", "VIP, 展会", "'-5", "'+1 call me"]
    assert len(rows) == 3


def test_a_list_exports_to_xlsx_with_formulas_neutralised_and_numbers_kept(backend, people, clock):
    from audiences import list_lists

    fair = next(found for found, _n in list_lists(people) if found.name == "Fair")
    export = export_contacts(people, ContactSelection(list_id=fair.id), file_format="xlsx",
                             today=clock.now().date(), columns=["external_id", "phone", "attributes.points", "notes"])

    sheet = load_workbook(io.BytesIO(b"".join(export.chunks()))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]

    assert rows[0] == ["external_id", "phone", "attributes.points", "notes"]
    assert rows[1] == ["C1", "'+12015550101", 90, "'=HYPERLINK(\"http://evil\")"]
    assert rows[2][2] == -5 and rows[3][3] == "'@SUM(A1)"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)  # no formula anywhere
    assert export.mimetype.startswith("application/vnd.openxmlformats")


def test_the_default_columns_and_a_bad_column_or_format(people, clock):
    rows = csv_rows(export_contacts(people, ContactSelection(), today=clock.now().date()))
    assert rows[0] == ["id", "name", "email", "phone", "company", "region", "lifecycle_stage", "value_tier", "tags"]
    assert len(rows) == 4

    with pytest.raises(Invalid, match='"shoe_size" is not a column an export can hold'):
        export_contacts(people, ContactSelection(), columns=["shoe_size"], today=clock.now().date())
    with pytest.raises(Invalid, match='export format "pdf" is not known'):
        export_contacts(people, ContactSelection(), file_format="pdf", today=clock.now().date())


def test_a_big_export_comes_in_pieces(session, clock, monkeypatch):
    import audiences.export as export_module

    lines = ["email"] + [f"user{n}@example.com" for n in range(120)]
    import_contacts(session, io.BytesIO(("\n".join(lines) + "\n").encode()), filename="c.csv", default_region="US",
                    now=clock.now())
    monkeypatch.setattr(export_module, "BATCH_ROWS", 50)

    pieces = list(export_contacts(session, ContactSelection(), columns=["email"], today=clock.now().date()).chunks())

    assert len(pieces) >= 3
    assert b"".join(pieces).decode("utf-8-sig").count("\n") == 121


# ---------------------------------------------------------------- the commands
def herald(config, *args: str):
    from web.cli import cli

    env = {"HERALD_DATABASE_URL": str(config.database_url), "HERALD_DATA_DIR": str(config.data_dir),
           "HERALD_ENV": "test", "HERALD_SCHEDULER_ENABLED": "false"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_the_import_command_maps_columns_and_prints_one_line_with_the_error_file(config, tmp_path):
    path = tmp_path / "客户.csv"
    path.write_bytes("姓名,联系方式,内部\n王芳,+8613800138000,x\n坏,123,y\n".encode("gbk"))

    result = herald(config, "contacts", "import", str(path), "--encoding", "gbk", "--column", "联系方式=phone",
                    "--column", "内部=ignore", "--mode", "skip", "--list", "CLI")

    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("客户.csv: 1 imported, 0 updated, 0 skipped, 1 rejected — rows to fix, with reasons, in ")
    error_file = last.rpartition(" in ")[2]
    assert "123" in open(error_file, encoding="utf-8-sig").read()


def test_the_import_command_refuses_a_bad_column_flag(config, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("email\nann@example.com\n")

    result = herald(config, "contacts", "import", str(path), "--column", "email")

    assert result.exit_code == 2 and "is not HEADER=field" in result.output


def test_the_export_command_writes_csv_or_xlsx(people, config, tmp_path):
    out = herald(config, "contacts", "export", "--list", "Fair", "--columns", "email,notes")
    assert out.exit_code == 0, out.output
    assert out.output.lstrip("\ufeff").splitlines()[:2] == ["email,notes", 'ann@example.com,"\'=HYPERLINK(""http://evil"")"']

    target = tmp_path / "fair.xlsx"
    out = herald(config, "contacts", "export", "--list", "Fair", "-o", str(target))
    assert out.exit_code == 0, out.output
    assert load_workbook(target).active.max_row == 4

    out = herald(config, "contacts", "export", "--segment", "nope")
    assert out.exit_code == 1 and 'no segment is named "nope"' in out.output
