"""/api/v1/contacts/export: the contacts of a segment, a list, a tag or a search, as CSV or XLSX, streamed."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, request

import audiences
from web.api import bp, now, query_int, token_required
from web.db import get_session


@bp.get("/contacts/export")
@token_required("read")
def export_contacts():
    """?segment_id= | list_id= | tag= | search=, format=csv|xlsx, columns=a,b,c. Formula cells are neutralised."""
    args = request.args
    selection = audiences.ContactSelection(
        search=args.get("search", "").strip() or None, tag=args.get("tag", "").strip() or None,
        list_id=query_int("list_id", None), segment_id=query_int("segment_id", None))
    columns = [c for value in args.getlist("columns") for c in value.split(",") if c.strip()]
    file_format = args.get("format", "csv").strip().lower()
    # Checked before the first byte (NotFound, Invalid, SegmentRuleInvalid answer as JSON); the rows are
    # read while the response streams, after the view returned, so the stream closes the session itself.
    session = get_session()
    export = audiences.export_contacts(session, selection, columns=columns, file_format=file_format,
                                       today=now().date())

    def chunks() -> Iterator[bytes]:
        try:
            yield from export.chunks()
        finally:
            session.close()

    response = Response(chunks(), mimetype=export.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="contacts-{now():%Y%m%d}.{file_format}"'
    return response
