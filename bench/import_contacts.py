"""Import of 1,000,000 CSV rows with validation, on PostgreSQL and on SQLite (issue 3, "Benchmarks").

    .venv/bin/python bench/import_contacts.py [--rows 1000000] [--backends sqlite,postgres]

Generates a CSV like a CRM export (external id, email, phone, Chinese or Western name, company,
birthday, tier, city; one row in 200 bad), then for each backend, in a fresh database and a fresh
process (so peak RSS is the import's own): Herald's import_contacts with validation and dedupe,
and as the baseline a hand-written loader that parses the same file and INSERTs the raw cells in
chunks of 500 with no validation. Prints rows/s, the ratio to the baseline and peak RSS.
Targets: under 90 s and under 500 MB for 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("HERALD_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "芳伟娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
CITIES = ("北京", "上海", "广州", "深圳", "杭州", "Boston", "Denver", "Seattle")


def generate(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["客户编号", "姓名", "邮箱", "手机", "公司", "生日", "等级", "城市"])
        for n in range(rows):
            chinese = n % 2 == 0
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) if chinese else f"User{n} Smith"
            # Unique phones: CN mobiles 139xxxxxxxx for even rows, US 201-555-xxxx style for odd ones.
            phone = f"139{n:08d}" if chinese else f"+1 201 {200 + n // 10_000 % 800:03d} {n % 10_000:04d}"
            email = f"user{n}@example.com" if n % 3 else ""
            if n % 200 == 199:
                email = f"broken{n}@"  # one row in 200 is rejected
            birthday = f"{1950 + n % 50}-{1 + n % 12:02d}-{1 + n % 28:02d}" if n % 4 else ""
            writer.writerow([f"C{n}", name, email, phone, f"公司{n % 5000}", birthday, "ABC"[n % 3],
                             CITIES[n % len(CITIES)]])


# ---------------------------------------------------------------- databases
def fresh_database(backend: str, directory: Path) -> tuple[str, str | None]:
    from core.migrate import upgrade_database

    if backend == "sqlite":
        url = f"sqlite:///{directory / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        upgrade_database(url)
        return url, None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"herald_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    return url, name


def drop_database(name: str | None) -> None:
    if name is None:
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# ---------------------------------------------------------------- the two loaders (run in a child process)
def herald_import(url: str, path: Path, errors: Path) -> dict[str, object]:
    from audiences import import_contacts
    from core.clock import SystemClock
    from core.db import Database

    database = Database(url)
    started = time.perf_counter()
    with database.session() as session, path.open("rb") as stream:
        report = import_contacts(session, stream, filename=path.name, default_region="CN", list_name="bench",
                                 now=SystemClock().now(), error_file=errors)
    seconds = time.perf_counter() - started
    database.dispose()
    return {"seconds": seconds, "imported": report.imported, "rejected": report.rejected_count,
            "duplicates": report.duplicates_in_file}


def raw_insert(url: str, path: Path) -> dict[str, object]:
    """The baseline: parse the file and INSERT its cells as they are, 500 rows per executemany, no checks."""
    from sqlalchemy import insert

    from audiences import Contact
    from core.clock import SystemClock
    from core.db import Database

    database = Database(url)
    now = SystemClock().now()
    started = time.perf_counter()
    rows = 0
    with database.session() as session, path.open(encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        next(reader)
        chunk: list[dict[str, object]] = []
        for cells in reader:
            chunk.append({"external_id": cells[0], "first_name": cells[1], "email": cells[2] or None,
                          "phone": cells[3], "company": cells[4], "attributes": {"等级": cells[6], "城市": cells[7]},
                          "created_at": now, "updated_at": now})
            if len(chunk) == 500:
                session.execute(insert(Contact.__table__), chunk)
                session.commit()
                rows += len(chunk)
                chunk = []
        if chunk:
            session.execute(insert(Contact.__table__), chunk)
            session.commit()
            rows += len(chunk)
    seconds = time.perf_counter() - started
    database.dispose()
    return {"seconds": seconds, "imported": rows}


def child(kind: str, url: str, path: str, errors: str) -> None:
    result = herald_import(url, Path(path), Path(errors)) if kind == "herald" else raw_insert(url, Path(path))
    # ru_maxrss is in KiB on Linux: the peak resident size of this process, the import included, and of the
    # largest worker process that checked rows (reaped by now, so RUSAGE_CHILDREN has it).
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["worker_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(result))


def measure(kind: str, backend: str, path: Path, directory: Path) -> dict[str, object]:
    url, name = fresh_database(backend, directory)
    try:
        out = subprocess.run([sys.executable, __file__, "--child", kind, url, str(path),
                              str(directory / f"errors-{backend}.csv")],
                             check=True, capture_output=True, text=True, cwd=ROOT)
    finally:
        drop_database(name)
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker_count() -> int:
    from audiences.imports.rows import worker_count as count

    return count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="herald-bench-") as tmp:
        directory = Path(tmp)
        path = directory / "contacts.csv"
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {args.rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.1f} s")
        for backend in args.backends.split(","):
            herald = measure("herald", backend, path, directory)
            baseline = measure("raw", backend, path, directory)
            rate = args.rows / herald["seconds"]  # type: ignore[operator]
            print(f"{backend:9} herald import: {herald['seconds']:.1f} s, {rate:,.0f} rows/s, "
                  f"peak RSS {herald['peak_rss_mb']:.0f} MB (+ {herald.get('worker_peak_rss_mb', 0):.0f} MB per "
                  f"checking worker) — imported {herald['imported']:,}, rejected {herald['rejected']:,}")
            print(f"{backend:9} baseline (raw INSERT, no validation): {baseline['seconds']:.1f} s, "
                  f"peak RSS {baseline['peak_rss_mb']:.0f} MB; herald/baseline = "
                  f"{herald['seconds'] / baseline['seconds']:.2f}x")  # type: ignore[operator]
            at_million = herald["seconds"] * 1_000_000 / args.rows  # type: ignore[operator]
            memory = herald["peak_rss_mb"] + worker_count() * herald.get("worker_peak_rss_mb", 0)  # type: ignore
            targets = at_million < 90 and memory < 500
            scaled = "" if args.rows == 1_000_000 else f" (time scaled to 1M rows: {at_million:.0f} s)"
            print(f"{backend:9} targets (< 90 s, < 500 MB at 1M rows): {'met' if targets else 'MISSED'}{scaled}")


if __name__ == "__main__":
    main()
