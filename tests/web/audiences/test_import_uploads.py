"""Import uploads: a zip-bomb workbook is refused on the upload page, and uploads with their state files (contacts'
personal data) are deleted once untouched for [imports] keep_uploads_hours, at upload time and by the scheduler."""

from __future__ import annotations

import io
import os
from datetime import timedelta

from scheduler import jobs
from tests.audiences.imports.workbooks import bomb

CSV = b"email,name\nann@example.com,Ann\n"


def upload(client, data: bytes, filename: str):
    return client.post("/contacts/import", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def import_files(folder, import_id: str, *, touched_at) -> list:
    """An import's three files, last modified at `touched_at`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{import_id}.upload", folder / f"{import_id}.json", folder / f"{import_id}.errors.csv"]
    for path in paths:
        path.write_text("email\nann@example.com\n" if path.suffix != ".json" else '{"status": "mapping"}')
        os.utime(path, (touched_at.timestamp(), touched_at.timestamp()))
    return paths


def test_a_zip_bomb_workbook_is_refused_on_the_upload_page_and_not_kept(logged_in_client, config):
    response = upload(logged_in_client, bomb(), "bomb.xlsx")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "max_compression_ratio" in page and "xl/sharedStrings.xml" in page
    assert not list((config.data_dir / "imports").iterdir())


def test_stale_imports_are_deleted_when_a_file_is_uploaded(backend, logged_in_client, config, clock):
    folder = config.data_dir / "imports"
    stale = import_files(folder, "a" * 32, touched_at=clock.now() - timedelta(hours=25))
    recent = import_files(folder, "b" * 32, touched_at=clock.now() - timedelta(hours=23))
    (folder / "notes.txt").write_text("not an import's file")

    assert upload(logged_in_client, CSV, "people.csv").status_code == 303

    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in recent)
    assert (folder / "notes.txt").exists()
    assert len(list(folder.glob("*.json"))) == 2  # the recent one and the new upload's


def test_the_scheduler_deletes_stale_imports_every_hour(config, database, clock):
    folder = config.data_dir / "imports"
    stale = import_files(folder, "c" * 32, touched_at=clock.now() - timedelta(hours=config.imports.keep_uploads_hours,
                                                                              minutes=1))
    recent = import_files(folder, "d" * 32, touched_at=clock.now() - timedelta(minutes=5))
    jobs.bind(jobs.JobContext(config, database, clock))
    try:
        assert jobs.remove_stale_uploads() == 1
    finally:
        jobs.bind(None)
    assert not any(path.exists() for path in stale) and all(path.exists() for path in recent)
