"""Imports started from the web UI: the upload is kept on disk, the columns are mapped, then the import runs in
a background thread of the web process while the page polls its progress.

Everything an import page shows lives in <data_dir>/imports/<id>.json, rewritten atomically, so any web
worker can answer the polling and a reload shows the same page. A web process that stops mid-import
leaves the file saying "running" with the process id; a page that finds that process gone says the
import was interrupted (the chunks written so far stay, and importing the file again updates them).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from audiences import ImportReport, import_contacts
from audiences.imports import IMPORT_ID
from core.clock import Clock
from core.config import ImportConfig
from core.db import Database
from core.errors import HeraldError

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 0.5


def upload_path(folder: Path, import_id: str) -> Path:
    return folder / f"{import_id}.upload"


def errors_path(folder: Path, import_id: str) -> Path:
    return folder / f"{import_id}.errors.csv"


def read_state(folder: Path, import_id: str) -> dict[str, Any] | None:
    """The import's state, or None for an id that is malformed or unknown."""
    if not IMPORT_ID.match(import_id):
        return None
    path = folder / f"{import_id}.json"
    if not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("status") == "running" and not _alive(state.get("pid")):
        state["status"] = "interrupted"
    return state


def write_state(folder: Path, import_id: str, state: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{import_id}.json"
    partial = final.with_suffix(f".{threading.get_ident()}.tmp")
    partial.write_text(json.dumps(state, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(partial, final)  # a poll never reads half a file


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ImportJobs:
    """The background imports of this web process."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, folder: Path, import_id: str, state: dict[str, Any], *, default_region: str,
              limits: ImportConfig) -> None:
        """Run the import of `state` (filename, list_name, mode, encoding, columns, on_bad_address) in a thread,
        phone numbers without +country code read in `default_region`."""
        state = {**state, "status": "running", "pid": os.getpid(), "progress": 0.0, "report": None}
        write_state(folder, import_id, state)
        thread = threading.Thread(target=self._run, args=(folder, import_id, state, default_region, limits),
                                  name=f"herald-import-{import_id[:8]}", daemon=True)
        with self._lock:
            self._threads[import_id] = thread
        thread.start()

    def wait(self, import_id: str, timeout: float | None = None) -> None:
        """Block until the import's thread ends (tests; a server shutting down)."""
        with self._lock:
            thread = self._threads.get(import_id)
        if thread is not None:
            thread.join(timeout)

    def _run(self, folder: Path, import_id: str, state: dict[str, Any], default_region: str,
             limits: ImportConfig) -> None:
        last = [0.0]

        def progress(report: ImportReport, fraction: float | None) -> None:
            if time.monotonic() - last[0] < PROGRESS_EVERY_SECONDS and fraction != 1.0:
                return
            last[0] = time.monotonic()
            counts = {k: getattr(report, k) for k in ("imported", "updated", "skipped", "rejected_count",
                                                      "duplicates_in_file", "total_rows")}
            write_state(folder, import_id, {**state, "progress": fraction, "counts": counts})

        upload = upload_path(folder, import_id)
        try:
            with self._database.session() as session, upload.open("rb") as stream:
                report = import_contacts(
                    session, stream, filename=state["filename"], default_region=default_region,
                    list_name=state.get("list_name") or None, now=self._clock.now(), mode=state["mode"],
                    encoding=state.get("encoding") or None, columns=state["columns"],
                    error_file=errors_path(folder, import_id), on_progress=progress, limits=limits,
                    on_bad_address=state.get("on_bad_address") or "drop-field")
        except HeraldError as exc:
            write_state(folder, import_id, {**state, "status": "failed", "error": exc.message})
        except Exception as exc:  # noqa: BLE001 - the page must say the import stopped, whatever the reason
            log.exception("import_id=%s failed", import_id)
            write_state(folder, import_id, {**state, "status": "failed", "error": f"{type(exc).__name__}: {exc}"})
        else:
            write_state(folder, import_id, {**state, "status": "done", "progress": 1.0, "report": report.to_dict()})
        finally:
            upload.unlink(missing_ok=True)  # contacts' data is not kept on disk longer than needed
