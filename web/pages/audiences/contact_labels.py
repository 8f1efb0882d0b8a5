"""The words a marketer sees for the codes contacts store: lifecycle stages, value tiers, date kinds."""

from __future__ import annotations

from flask_babel import gettext as _

import audiences


def lifecycle_labels() -> dict[str, str]:
    return {
        "lead": _("Lead"),
        "customer": _("New customer"),
        "repeat": _("Repeat customer"),
        "vip": _("Loyal (VIP)"),
        "dormant": _("Dormant"),
        "churned": _("Churned"),
    }


def lifecycle_label(stage: str | None) -> str:
    return lifecycle_labels().get(stage or "", stage or "—")


def lifecycle_options() -> list[tuple[str, str]]:
    labels = lifecycle_labels()
    return [("", _("Not set"))] + [(stage, labels[stage]) for stage in audiences.LIFECYCLE_STAGES]


def tier_options() -> list[tuple[str, str]]:
    return [("", _("Not set"))] + [(tier, _("Tier %(tier)s", tier=tier)) for tier in audiences.VALUE_TIERS]


def date_kind_label(kind: str) -> str:
    return {
        "company_anniversary": _("Company anniversary"),
        "contract_renewal": _("Contract renewal"),
        "membership": _("Membership date"),
    }.get(kind, kind.replace("_", " "))
