"""Contact import: a CSV or XLSX file in, contacts created or updated, rejected rows written out.

The pipeline, in the order a row meets it: files.py reads the upload one row at a time (CSV in any
common encoding, or XLSX), mapping.py maps its columns to contact fields, rows.py checks each row
(in worker processes for large files), importer.py matches rows to existing contacts and runs the
import, writes.py does the database writes in chunks, report.py keeps what happened (ImportReport)
and writes the error file of rejected rows, uploads.py clears uploads left on disk.

This __init__ is the sub-package's surface: the import pages (web/pages/audiences/imports.py), the
conversion import (campaigns), the scheduler's clean-up job, export.py and cli.py use these names.
imports/ builds on contacts/ (the same field checks as the contact form) and never the reverse.
"""

from audiences.imports.files import Unreadable, open_import_file
from audiences.imports.importer import MODES, import_contacts
from audiences.imports.mapping import import_fields, is_error_column, plan_columns, propose_columns
from audiences.imports.report import (
    DuplicateRow,
    ImportReport,
    RejectedRow,
    WarnedRow,
    neutralise,
    write_error_file,
)
from audiences.imports.rows import ADDRESS_POLICIES
from audiences.imports.uploads import IMPORT_ID, remove_stale_uploads

__all__ = [
    "ADDRESS_POLICIES",
    "IMPORT_ID",
    "MODES",
    "DuplicateRow",
    "ImportReport",
    "RejectedRow",
    "Unreadable",
    "WarnedRow",
    "import_contacts",
    "import_fields",
    "is_error_column",
    "neutralise",
    "open_import_file",
    "plan_columns",
    "propose_columns",
    "remove_stale_uploads",
    "write_error_file",
]
