"""/api/v1/conversions: report a purchase (idempotent by order id), or import a file of them."""

from __future__ import annotations

from typing import Any

from flask import request

import campaigns
from campaigns.models import Conversion
from campaigns.results.conversions import FIELDS
from campaigns.results.report_numbers import money
from core.errors import Invalid
from web.api import bp, config, iso, json_body, now, reject_unknown, token_required
from web.db import get_session


def conversion_json(conversion: Conversion, *, duplicate: bool = False) -> dict[str, Any]:
    return {
        "id": conversion.id,
        "order_id": conversion.order_id,
        "contact_id": conversion.contact_id,
        "amount": money(conversion.amount, conversion.currency),
        "currency": conversion.currency,
        "amount_base": money(conversion.amount_base, config().currency),
        "base_currency": config().currency,
        "occurred_at": iso(conversion.occurred_at),
        "product": conversion.product,
        "category": conversion.category,
        "campaign_code": conversion.campaign_code,
        "campaign_id": conversion.campaign_id,
        "message_id": conversion.message_id,
        "attribution": conversion.attribution,
        "source": conversion.source,
        "created_at": iso(conversion.created_at),
        "duplicate": duplicate,
    }


@bp.post("/conversions")
@token_required("write")
def record_conversion():
    """201 with the new conversion; 200 with the one recorded before when the order id was reported already,
    so a client that retries after a timeout never counts a purchase twice."""
    data = json_body()
    reject_unknown(data, FIELDS)
    conversion, created = campaigns.record_conversion(
        get_session(), data, campaigns.ConversionSettings.from_config(config()), now=now(), source="api")
    return conversion_json(conversion, duplicate=not created), 201 if created else 200


@bp.post("/conversions/import")
@token_required("write")
def import_conversions():
    """A multipart upload `file` (CSV or .xlsx): 200 with the report, rejected rows listed with line and reason."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("send the conversions as a multipart form field named file (a .csv or .xlsx file)",
                      field="file")
    report = campaigns.import_conversions(get_session(), upload.stream, filename=upload.filename,
                                          settings=campaigns.ConversionSettings.from_config(config()), now=now(),
                                          limits=config().imports)
    return report.to_dict()
