"""Campaigns: templates, the campaign lifecycle, the outbox and its dispatch loop, callbacks, reports.

The data flow (DESIGN §3): send_campaign materialises a run's messages with one INSERT … SELECT;
Dispatcher.dispatch_due claims due rows, renders them (sandboxed Jinja), sends them through a
channel and records the answer; apply_channel_events moves statuses forward from provider
callbacks; campaign_status and campaign_report count what happened.
"""

from campaigns.breaker import BreakerSettings, PausedChannel, paused_channels
from campaigns.callbacks import apply_channel_events
from campaigns.content import RenderFailed, TemplateInvalid, html_to_text
from campaigns.dispatch import ChannelContractBroken, Dispatcher, release_expired_leases
from campaigns.inbox_models import KEYWORD_ACTIONS, REPLY_CLASSES, ChannelHealth, KeywordRule, Reply
from campaigns.lifecycle import cancel_campaign, create_campaign, get_campaign, list_campaigns, send_campaign
from campaigns.models import Campaign, Message, MessageEvent, Run, Template
from campaigns.replies import (
    InboxRow,
    ReplyOutcome,
    Rule,
    contact_replies,
    count_replies,
    create_keyword_rule,
    delete_keyword_rule,
    keyword_rules,
    list_keyword_rules,
    list_replies,
    record_reply,
    rules_by_keyword,
)
from campaigns.reports import CampaignReport, CampaignStatus, campaign_report, campaign_status, campaign_statuses
from campaigns.sender import ChannelUnavailable, send_campaign_now
from campaigns.templates import (
    Preview,
    create_template,
    get_template,
    list_templates,
    preview_template,
    update_template,
    validate_template,
)
from campaigns.unsubscribe import unsubscribe_recipient


def dispatch_due(dispatcher: Dispatcher) -> int:
    """Run one dispatch round with `dispatcher` (see Dispatcher.dispatch_due); for callers that hold one."""
    return dispatcher.dispatch_due()


__all__ = [
    "KEYWORD_ACTIONS",
    "REPLY_CLASSES",
    "BreakerSettings",
    "ChannelHealth",
    "InboxRow",
    "KeywordRule",
    "PausedChannel",
    "Reply",
    "ReplyOutcome",
    "Rule",
    "contact_replies",
    "count_replies",
    "create_keyword_rule",
    "delete_keyword_rule",
    "keyword_rules",
    "list_keyword_rules",
    "list_replies",
    "paused_channels",
    "record_reply",
    "rules_by_keyword",
    "Campaign",
    "CampaignReport",
    "CampaignStatus",
    "ChannelContractBroken",
    "ChannelUnavailable",
    "Dispatcher",
    "Message",
    "MessageEvent",
    "Preview",
    "RenderFailed",
    "Run",
    "Template",
    "TemplateInvalid",
    "apply_channel_events",
    "campaign_report",
    "campaign_status",
    "campaign_statuses",
    "cancel_campaign",
    "create_campaign",
    "create_template",
    "dispatch_due",
    "get_campaign",
    "get_template",
    "html_to_text",
    "list_campaigns",
    "list_templates",
    "preview_template",
    "release_expired_leases",
    "send_campaign",
    "send_campaign_now",
    "unsubscribe_recipient",
    "update_template",
    "validate_template",
]
