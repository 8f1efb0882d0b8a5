"""The Inbox's schemas in the OpenAPI document (web/api/inbox.py): replies, answers, assignment, keyword rules."""

from __future__ import annotations

from typing import Any

from campaigns import KEYWORD_ACTIONS, REPLY_CLASSES
from web.api.openapi.schemas import BOOLEAN, INTEGER, STRING, TIMESTAMP, maybe_id, nullable, obj, ref

TEXT = {"type": "string", "minLength": 1, "maxLength": 1600, "pattern": "\\S"}

INBOX_SCHEMAS: dict[str, Any] = {
    "Reply": obj({
        "id": INTEGER, "received_at": TIMESTAMP, "from_number": STRING, "to_number": STRING, "body": STRING,
        "provider": {"type": "string", "description": "the provider it came in through: twilio, http-sms…"},
        "contact_id": nullable("integer", description="null: no contact has this number"),
        "contact_name": nullable("string"),
        "classification": {"type": "string", "enum": list(REPLY_CLASSES)},
        "keyword": nullable("string"), "tag": nullable("string"),
        "answered_automatically": {"type": "string", "description": "the keyword's own answer, \"\" for none"},
        "campaign_id": nullable("integer", description="the campaign of the SMS it answers"),
        "message_id": nullable("integer"),
        "status": {"type": "string", "enum": ["waiting", "handled"],
                   "description": "waiting for a person; keywords Herald obeyed arrive handled"},
        "handled_at": nullable("string", format="date-time"), "handled_by": nullable("integer"),
        "assignee_id": nullable("integer", description="the user looking after the contact's conversation"),
    }),
    "ReplyPage": obj({"items": {"type": "array", "items": ref("Reply")}, "total": INTEGER, "page": INTEGER,
                      "per_page": INTEGER}),
    "AnswerInput": obj({
        "text": {**TEXT, "description": "the SMS to send back to the number the reply came from, as written"},
        "handled": {**BOOLEAN, "description": "mark the conversation handled (default true)"},
    }, required=("text",)),
    "Answer": obj({"id": INTEGER, "reply_id": INTEGER, "contact_id": INTEGER,
                   "message_id": {"type": "integer", "description": "the outbox row: its status and cost are in the "
                                                                    "\"Inbox answers\" campaign's report"},
                   "status": STRING, "text": STRING, "created_at": TIMESTAMP}),
    "AssignInput": obj({"assignee_id": maybe_id("a user id; null for nobody")}),
    "HandledInput": obj({"handled": {**BOOLEAN, "description": "false opens the conversation again (default true)"}},
                        required=()),
    "KeywordRule": obj({
        "id": INTEGER, "keyword": STRING, "action": {"type": "string", "enum": list(KEYWORD_ACTIONS)},
        "list_id": nullable("integer"), "tag": nullable("string"), "reply_text": STRING, "enabled": BOOLEAN,
        "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
    }),
    "KeywordRuleList": obj({
        "items": {"type": "array", "items": ref("KeywordRule")},
        "builtin": {"type": "array", "description": "config.toml's opt-out, opt-in and help keywords (read-only)",
                    "items": obj({"keyword": STRING, "action": STRING, "reply_text": STRING})},
    }),
    "KeywordRuleInput": obj({
        "keyword": {"type": "string", "minLength": 1, "maxLength": 50, "pattern": "\\S",
                    "description": "one word people text, e.g. JOIN or 报名; compared ignoring case and width"},
        "action": {"type": "string", "enum": [a for a in KEYWORD_ACTIONS]},
        "list_id": maybe_id("add_to_list: the list the sender joins"),
        "tag": {"type": "string", "maxLength": 50, "description": "tag: the label put on the reply"},
        "reply_text": {"type": "string", "description": "sent back to the sender; \"\" for nothing"},
    }, required=("keyword", "action")),
    "KeywordRuleUpdate": obj({"enabled": BOOLEAN, "reply_text": STRING}, required=()),
}

