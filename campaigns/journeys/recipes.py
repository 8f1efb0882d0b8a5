"""Ready-made journeys from the source documents, as data: each function returns a definition a marketer then
edits in the builder (or posts to /api/v1/journeys). They take the templates to send, since the words are the
marketer's; everything else — when, what to wait for, where to branch — is the recipe.

- dormant_reactivation (休眠客户唤醒): dormant for [rfm] dormant_days (the nightly RFM job sets the lifecycle
  stage) → SMS offer → 7 days for a purchase → else an email with a code → 7 more days → else tag "lost".
  The goal is a purchase: who buys leaves at once, and the purchase is credited to the journey.
- new_customer_care (新客户关怀): a new customer gets a welcome SMS on day 0, a useful email on day 3 and a
  satisfaction question on day 30. Notifying the owner of a complaint needs the notify step (not built yet).
- birthday_by_tier (生日关怀): on the birthday, tier A gets the SMS and the tag "call for birthday" (for the
  owner's call until the notify step exists); others get the SMS. Re-enters yearly.
The event-attendee recipe needs a wait "until a date field ± offset" (the day before the event), not built yet.
"""

from __future__ import annotations

from typing import Any

UNSUBSCRIBED_EXIT = {"events": ["unsubscribed"]}


def dormant_reactivation(*, sms_template_id: int, email_template_id: int, wait_days: int = 7,
                         lost_tag: str = "lost") -> dict[str, Any]:
    return {
        "entry": [{"kind": "segment", "rules": {"all": [{"field": "lifecycle_stage", "op": "eq",
                                                         "value": "dormant"}]}}],
        "re_entry": {"policy": "after_days", "days": 180},
        "goal": {"event": "purchased"},
        "exit": UNSUBSCRIBED_EXIT,
        "start": "sms_offer",
        "steps": {
            "sms_offer": {"kind": "send", "channel": "sms", "template_id": sms_template_id, "next": "wait_purchase"},
            "wait_purchase": {"kind": "wait_for_event", "event": "purchased", "timeout": {"days": wait_days},
                              "happened": None, "timed_out": "email_code"},
            "email_code": {"kind": "send", "channel": "email", "template_id": email_template_id,
                           "next": "wait_purchase_again"},
            "wait_purchase_again": {"kind": "wait_for_event", "event": "purchased", "timeout": {"days": wait_days},
                                    "happened": None, "timed_out": "tag_lost"},
            "tag_lost": {"kind": "update_contact", "add_tags": [lost_tag], "next": None},
        },
    }


def new_customer_care(*, welcome_sms_id: int, useful_email_id: int, question_sms_id: int,
                      welcome_email_id: int | None = None) -> dict[str, Any]:
    """`welcome_email_id`: the welcome by email for a customer without a phone number (none: they skip it)."""
    return {
        "entry": [{"kind": "segment", "rules": {"all": [{"field": "lifecycle_stage", "op": "eq",
                                                         "value": "customer"}]}}],
        "re_entry": {"policy": "once"},
        "exit": UNSUBSCRIBED_EXIT,
        "start": "welcome",
        "steps": {
            "welcome": {"kind": "send", "channel": "sms", "template_id": welcome_sms_id,
                        "email_template_id": welcome_email_id, "next": "until_day_3"},
            "until_day_3": {"kind": "wait", "days": 3, "next": "useful"},
            "useful": {"kind": "send", "channel": "email", "template_id": useful_email_id, "next": "until_day_30"},
            "until_day_30": {"kind": "wait", "days": 27, "next": "question"},
            "question": {"kind": "send", "channel": "sms", "template_id": question_sms_id, "next": None},
        },
    }


def birthday_by_tier(*, birthday_sms_id: int, call_tag: str = "call for birthday") -> dict[str, Any]:
    return {
        "entry": [{"kind": "segment", "rules": {"all": [{"field": "birthday", "op": "birthday_within_days",
                                                         "value": 0}]}}],
        "re_entry": {"policy": "after_days", "days": 300},
        "exit": UNSUBSCRIBED_EXIT,
        "start": "tier_a",
        "steps": {
            "tier_a": {"kind": "condition", "rules": {"all": [{"field": "value_tier", "op": "eq", "value": "A"}]},
                       "yes": "call", "no": "greeting"},
            "call": {"kind": "update_contact", "add_tags": [call_tag], "next": "greeting"},
            "greeting": {"kind": "send", "channel": "sms", "template_id": birthday_sms_id, "next": None},
        },
    }


RECIPES = {"dormant_reactivation": dormant_reactivation, "new_customer_care": new_customer_care,
           "birthday_by_tier": birthday_by_tier}
