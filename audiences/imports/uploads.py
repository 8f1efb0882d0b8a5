"""Import uploads kept on disk between the steps of a web import, and their removal once stale.

A web import keeps the uploaded file, its state and its rejected rows under <data_dir>/imports, each
named by the import's id (`<id>.upload`, `<id>.json`, `<id>.errors.csv`). They hold contacts'
personal data, so an import nobody has touched for [imports] keep_uploads_hours — finished, failed
or abandoned at the column step — is deleted: by the scheduler's housekeeping, and at every new
upload in case the scheduler runs elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger("herald.audiences")

IMPORT_ID = re.compile(r"^[0-9a-f]{32}$")  # an import's id names its files; nothing else reaches the disk
_IMPORT_FILE = re.compile(r"^([0-9a-f]{32})\.")


def remove_stale_uploads(folder: Path, *, now: datetime, keep_hours: int) -> int:
    """Delete the files of every import last touched more than `keep_hours` before `now`; returns how many
    imports were removed. A running import rewrites its state at least every chunk, so it is never stale.
    """
    if not folder.is_dir():
        return 0
    files: dict[str, list[Path]] = defaultdict(list)
    for path in folder.iterdir():
        match = _IMPORT_FILE.match(path.name)
        if match and path.is_file():
            files[match.group(1)].append(path)
    cutoff = (now - timedelta(hours=keep_hours)).timestamp()
    removed = 0
    for import_id, paths in files.items():
        try:
            touched = max(path.stat().st_mtime for path in paths)
        except FileNotFoundError:  # removed meanwhile by another worker's sweep
            continue
        if touched >= cutoff:
            continue
        for path in paths:
            path.unlink(missing_ok=True)
        removed += 1
        log.info("event=import_upload_removed import_id=%s files=%d", import_id, len(paths))
    return removed
