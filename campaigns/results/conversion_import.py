"""Importing conversions from a shop's CSV or Excel export (the UI page and `herald conversions import`).

The file is read row by row (audiences' import-file reader: any encoding Excel writes, or .xlsx);
headers are matched to conversion fields by name, in English or Chinese; each row becomes a
ConversionInput or a rejection, and campaigns.results.conversions records them in chunks. Bad rows come
back with their line and reason; the others land.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from audiences.imports import Unreadable, open_import_file
from campaigns.results.conversions import (
    FIELDS,
    ConversionReport,
    ConversionSettings,
    RejectedConversion,
    Row,
    conversion_input,
    record_conversions,
)
from core.config import ImportConfig
from core.errors import HeraldError, Invalid

# Header names, compared lowercased with spaces and hyphens as "_".
ALIASES: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id", "order", "order_no", "order_number", "订单号", "订单编号", "订单id"),
    "amount": ("amount", "total", "revenue", "value", "price", "金额", "订单金额", "实付金额", "支付金额"),
    "currency": ("currency", "currency_code", "币种", "货币"),
    "occurred_at": ("occurred_at", "time", "date", "order_time", "order_date", "purchased_at", "created_at",
                    "下单时间", "时间", "日期", "支付时间"),
    "external_id": ("external_id", "customer_id", "client_id", "客户编号", "客户id", "会员号", "会员编号"),
    "email": ("email", "e_mail", "email_address", "邮箱", "电子邮件"),
    "phone": ("phone", "mobile", "phone_number", "手机", "手机号", "手机号码", "电话"),
    "product": ("product", "product_name", "item", "sku", "商品", "商品名称", "产品"),
    "category": ("category", "product_category", "类目", "品类", "分类"),
    "campaign_code": ("campaign_code", "campaign", "promo_code", "coupon", "活动代码", "活动编码", "优惠码"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


def _key(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", " ").split())


def map_header(header: list[str], filename: str) -> dict[int, str]:
    """{column index: field}. Raises Invalid when a required column is missing or a field appears twice."""
    columns: dict[int, str] = {}
    for index, name in enumerate(header):
        field = _ALIAS_TO_FIELD.get(_key(name))
        if field is None:
            continue
        if field in columns.values():
            raise Invalid(f'{filename}: two columns mean {field} ("{name}" and another); keep one')
        columns[index] = field
    found = set(columns.values())
    missing = [name for name in ("order_id", "amount") if name not in found]
    if not ({"external_id", "email", "phone"} & found):
        missing.append("external_id, email or phone")
    if missing:
        raise Invalid(f"{filename}: no column for {' and '.join(missing)}; the header has "
                      f"{', '.join(h for h in header if h.strip()) or 'nothing'} — name the columns e.g. "
                      f"{','.join(FIELDS)}")
    return columns


def import_conversions(session: Session, stream: BinaryIO, *, filename: str, settings: ConversionSettings,
                       now: datetime, limits: ImportConfig | None = None) -> ConversionReport:
    """Record the conversions in a CSV or .xlsx file. Raises Invalid when the file as a whole cannot be read
    (empty, not CSV, no order id column); otherwise returns the report with every bad row and its reason.
    """
    opened = open_import_file(stream, filename=filename, limits=limits)
    columns = map_header(opened.header, filename)
    return record_conversions(session, _rows(opened.rows, columns, opened.header, settings, now=now), settings,
                              now=now, source="import")


def _rows(rows: Iterator[Any], columns: dict[int, str], header: list[str], settings: ConversionSettings, *,
          now: datetime) -> Iterator[Row]:
    for item in rows:
        if isinstance(item, Unreadable):
            yield RejectedConversion(item.reason, item.line)
            return
        line, cells = item
        if not any(cell.strip() for cell in cells):
            continue
        values = {field: cells[index] if index < len(cells) else "" for index, field in columns.items()}
        try:
            yield conversion_input(values, settings, now=now, line=line)
        except HeraldError as exc:
            shown = {header[i] if i < len(header) else str(i): cell for i, cell in enumerate(cells) if cell.strip()}
            yield RejectedConversion(exc.message, line, values.get("order_id", "").strip(), shown, exc.field)
