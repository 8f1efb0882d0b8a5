"""The Inbox's paths in the OpenAPI document (web/api/inbox.py): replies and keyword rules; their schemas are in
inbox_schemas.py.

Built with paths.py's helpers; web/api/openapi/__init__.py puts these paths into the document with the others.
"""

from __future__ import annotations

from typing import Any

from campaigns import REPLY_CLASSES
from web.api import MAX_PER_PAGE
from web.api.openapi.paths import ROW_ID, answer, body, error, operation, path_id, query
from web.api.openapi.schemas import STRING, ref

REPLY_ID = path_id("reply_id", "reply")
RULE_ID = path_id("rule_id", "keyword rule")

INBOX_PATHS: dict[str, dict[str, Any]] = {
    "/replies": {
        "get": operation(
            "listReplies", "SMS replies newest first, one page at a time, filtered and searched",
            {"200": answer("a page of replies", ref("ReplyPage"))}, tag="inbox",
            parameters=[
                query("status", {"type": "string", "enum": ["waiting", "handled"]}, "waiting for a person, or handled"),
                query("assignee_id", {**ROW_ID, "minimum": 0}, "the conversation's assignee; 0 for nobody"),
                query("contact_id", ROW_ID, "one contact's replies"),
                query("class", {"type": "string", "enum": list(REPLY_CLASSES)}, "the keyword action it matched"),
                query("unmatched", {"type": "string", "enum": ["true", "false"]},
                      "true: only replies from numbers no contact has"),
                query("search", STRING, "in the contact's name, email or phone, the sender's number or the text"),
                query("page", {"type": "integer", "minimum": 1, "default": 1}, "page number, from 1"),
                query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50},
                      f"replies per page, at most {MAX_PER_PAGE}"),
            ],
        ),
    },
    "/replies/{reply_id}": {
        "parameters": [REPLY_ID],
        "get": operation("getReply", "One reply", {"200": answer("the reply", ref("Reply"))}, tag="inbox",
                         found=True),
    },
    "/replies/{reply_id}/answer": {
        "parameters": [REPLY_ID],
        "post": operation(
            "answerReply", "Answer by SMS, through the provider the reply came in on, via the outbox",
            {"202": answer("queued; the outbox sends it ahead of campaign messages", ref("Answer")),
             "409": error("the contact texted STOP, the number bounced or is suppressed, no contact has the "
                          "number, or the reply came through another provider than the SMS channel now"),
             "503": error("the SMS channel is misconfigured in config.toml")},
            tag="inbox", write=True, found=True, request=body("AnswerInput")),
    },
    "/replies/{reply_id}/assign": {
        "parameters": [REPLY_ID],
        "post": operation("assignReply", "Give the reply's conversation to a user, or to nobody",
                          {"200": answer("the reply", ref("Reply")),
                           "409": error("no contact has the number: there is no conversation")},
                          tag="inbox", write=True, found=True, request=body("AssignInput")),
    },
    "/replies/{reply_id}/handled": {
        "parameters": [REPLY_ID],
        "post": operation("markReplyHandled", "Mark the reply's conversation handled, or open it again",
                          {"200": answer("the reply", ref("Reply"))}, tag="inbox", write=True, found=True,
                          request=body("HandledInput")),
    },
    "/keyword-rules": {
        "get": operation("listKeywordRules", "Keyword rules, and config.toml's built-in keywords",
                         {"200": answer("the rules", ref("KeywordRuleList"))}, tag="inbox"),
        "post": operation("createKeywordRule", "Add a keyword rule (never one that replaces an opt-out keyword)",
                          {"201": answer("the new rule", ref("KeywordRule"))}, tag="inbox", write=True, found=True,
                          request=body("KeywordRuleInput")),
    },
    "/keyword-rules/{rule_id}": {
        "parameters": [RULE_ID],
        "get": operation("getKeywordRule", "One keyword rule", {"200": answer("the rule", ref("KeywordRule"))},
                         tag="inbox", found=True),
        "patch": operation("updateKeywordRule", "Switch a rule off or on, or change its answer",
                           {"200": answer("the rule", ref("KeywordRule"))}, tag="inbox", write=True, found=True,
                           request=body("KeywordRuleUpdate")),
        "delete": operation("deleteKeywordRule", "Delete a keyword rule; replies it classified keep their class",
                            {"200": answer("deleted", ref("Deleted"))}, tag="inbox", write=True, found=True),
    },
}
