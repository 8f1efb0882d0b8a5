"""What the segment editor offers: every field a rule can name, grouped, with its operators and the kind of
value each operator takes, in the marketer's language. Sent to web/static/segments.js as JSON data.

The editor builds the rule JSON from these widgets; audiences checks it (and names the rule when it
is wrong), so this catalogue only decides what is offered, never what is allowed.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from audiences import (
    CONSENT_STATUSES,
    DATE_KINDS,
    LIFECYCLE_STAGES,
    VALUE_TIERS,
    list_custom_fields,
    list_lists,
    list_tags,
)
from campaigns import list_campaigns

TEXT_OPS = ("eq", "neq", "contains", "starts_with", "in", "not_in", "empty", "not_empty")


def operator_labels() -> dict[str, str]:
    return {
        "eq": _("is"), "neq": _("is not"), "contains": _("contains"), "starts_with": _("starts with"),
        "in": _("is one of"), "not_in": _("is none of"), "empty": _("is empty"), "not_empty": _("is not empty"),
        "gt": _("is more than"), "gte": _("is at least"), "lt": _("is less than"), "lte": _("is at most"),
        "between": _("is between"), "birthday_within_days": _("comes round within (days)"),
        "older_than_days": _("more than N days ago"), "newer_than_days": _("within the last N days"),
        "in_next_days": _("falls within the next (days)"), "in_last_days": _("within the last (days)"),
        "not_in_last_days": _("not within the last (days)"), "anniversary_within_days": _("anniversary within (days)"),
        "all": _("has all of"),
    }


def _field(key: str, label: str, ops: dict[str, str], **extra: Any) -> dict[str, Any]:
    """One field: `ops` maps each operator to the value widget it takes (none, text, texts, number, …)."""
    return {"key": key, "label": label, "ops": ops, **extra}


def _text_ops(widget: str = "text", many: str = "texts") -> dict[str, str]:
    return {"eq": widget, "neq": widget, "contains": "text", "starts_with": "text", "in": many, "not_in": many,
            "empty": "none", "not_empty": "none"}


def _choice_ops() -> dict[str, str]:
    return {"eq": "choice", "neq": "choice", "in": "choices", "not_in": "choices", "empty": "none",
            "not_empty": "none"}


def _number_ops() -> dict[str, str]:
    return {"eq": "number", "neq": "number", "gt": "number", "gte": "number", "lt": "number", "lte": "number",
            "between": "range", "empty": "none", "not_empty": "none"}


def _labelled(values: tuple[str, ...], labels: dict[str, str] | None = None) -> list[list[str]]:
    return [[value, (labels or {}).get(value, value)] for value in values]


def catalogue(session: Session) -> dict[str, Any]:
    """Every field group of the editor, and the operator labels."""
    stages = {"lead": _("Lead"), "customer": _("Customer"), "repeat": _("Repeat customer"), "vip": _("Loyal / VIP"),
              "dormant": _("Dormant"), "churned": _("Churned")}
    statuses = {"subscribed": _("subscribed"), "unsubscribed": _("unsubscribed"), "bounced": _("bounced"),
                "complained": _("complained"), "pending": _("pending confirmation")}
    contact = [
        _field("first_name", _("First name"), _text_ops()),
        _field("last_name", _("Last name"), _text_ops()),
        _field("email", _("Email"), _text_ops()),
        _field("phone", _("Phone"), _text_ops()),
        # values=True: the editor offers the values contacts have (segments.values), so 上海 and 上海市 both show.
        _field("company", _("Company"), _text_ops(), values=True),
        _field("country", _("Country code"), _text_ops(), values=True),
        _field("region", _("Region"), _text_ops(), values=True),
        _field("source", _("Source"), _text_ops(), values=True),
        _field("locale", _("Language"), _text_ops(), values=True),
        _field("external_id", _("External ID"), _text_ops()),
        _field("birthday", _("Birthday"), {"birthday_within_days": "days", "lt": "date", "gt": "date",
                                          "between": "dates", "empty": "none", "not_empty": "none"}),
        _field("created_at", _("Added to Herald"), {"newer_than_days": "days", "older_than_days": "days"}),
    ]
    customer = [
        _field("lifecycle_stage", _("Lifecycle stage"), _choice_ops(), choices=_labelled(LIFECYCLE_STAGES, stages)),
        _field("value_tier", _("Value tier"), _choice_ops(), choices=_labelled(VALUE_TIERS)),
        _field("tag", _("Tags"), {"in": "tags", "not_in": "tags", "all": "tags"},
               suggestions=[tag.name for tag, _count in list_tags(session)]),
        _field("list", _("Lists"), {"in": "choices", "not_in": "choices"}, numeric=True,
               choices=[[str(found.id), found.name] for found, _n in list_lists(session)]),
        _field("rfm_recency", _("RFM recency score (1–5)"), _number_ops()),
        _field("rfm_frequency", _("RFM frequency score (1–5)"), _number_ops()),
        _field("rfm_monetary", _("RFM monetary score (1–5)"), _number_ops()),
    ]
    consent = [_field(f"consent.{channel}", label, {"eq": "choice", "neq": "choice"},
                      choices=_labelled(CONSENT_STATUSES, statuses))
               for channel, label in (("email", _("Email consent")), ("sms", _("SMS consent")))]
    kinds = {"company_anniversary": _("Company anniversary"), "contract_renewal": _("Contract renewal"),
             "membership": _("Membership date")}
    dates = [_field(f"date.{kind}", kinds.get(kind, kind), {"in_next_days": "days", "in_last_days": "days",
                                                           "anniversary_within_days": "days"})
             for kind in DATE_KINDS]
    custom = [_custom(field) for field in list_custom_fields(session)]
    campaigns = [[str(c.id), c.name] for c in list_campaigns(session)]
    window = {"in_last_days": "days_campaign", "not_in_last_days": "days_campaign"}
    activity = [
        _field("message.received", _("Received a message"), window, campaigns=campaigns),
        _field("message.opened", _("Opened an email"), window, campaigns=campaigns),
        _field("message.clicked", _("Clicked a link"), window, campaigns=campaigns),
        _field("conversion.bought", _("Bought something"), {"in_last_days": "days_product",
                                                            "not_in_last_days": "days_product"}),
        _field("conversion.spent", _("Spent in total"), {"gt": "days_amount", "gte": "days_amount",
                                                         "lt": "days_amount", "lte": "days_amount"}),
    ]
    groups = [[_("Contact"), contact], [_("Customer"), customer], [_("Consent"), consent],
              [_("Important dates"), dates], [_("Custom fields"), custom], [_("Activity"), activity]]
    return {"groups": [[label, fields] for label, fields in groups if fields], "operators": operator_labels()}


def _custom(field: Any) -> dict[str, Any]:
    key, label = f"attributes.{field.key}", field.label or field.key
    if field.type == "number":
        return _field(key, label, _number_ops())
    if field.type == "date":
        return _field(key, label, {"in_next_days": "days", "in_last_days": "days", "lt": "date", "gt": "date",
                                   "between": "dates", "empty": "none", "not_empty": "none"})
    if field.type == "boolean":
        return _field(key, label, {"eq": "bool", "neq": "bool", "empty": "none", "not_empty": "none"})
    if field.type == "choice":
        return _field(key, label, _choice_ops(), choices=_labelled(tuple(field.choices or ())))
    return _field(key, label, _text_ops(), values=True)
