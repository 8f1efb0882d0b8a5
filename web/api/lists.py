"""/api/v1/lists: the static lists with their member counts, and creating one."""

from __future__ import annotations

from typing import Any

import audiences
from web.api import bp, iso, json_body, now, optional_str, reject_unknown, required_str, token_required
from web.db import get_session


def list_json(contact_list: audiences.ContactList, members: int | None = None) -> dict[str, Any]:
    return {
        "id": contact_list.id,
        "name": contact_list.name,
        "description": contact_list.description or "",
        "members": members or 0,
        "created_at": iso(contact_list.created_at),
    }


@bp.get("/lists")
@token_required("read")
def list_lists():
    return {"items": [list_json(found, members) for found, members in audiences.list_lists(get_session())]}


@bp.post("/lists")
@token_required("write")
def create_list():
    data = json_body()
    reject_unknown(data, ("name", "description"))
    created = audiences.create_list(get_session(), required_str(data, "name"), optional_str(data, "description"),
                                    now=now())
    return list_json(created, 0), 201
