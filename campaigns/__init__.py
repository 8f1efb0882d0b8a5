"""Campaigns: templates, the campaign lifecycle, the outbox and its dispatch loop, callbacks, reports.

The data flow (DESIGN §3): send_campaign materialises a run's messages with one INSERT … SELECT;
Dispatcher.dispatch_due claims due rows, renders them (sandboxed Jinja), sends them through a
channel and records the answer; apply_channel_events moves statuses forward from provider
callbacks; campaign_status and campaign_report count what happened.

The package is split by what each part does (docs/architecture.md): campaigns/ itself is the campaign and
its run (models, queries, states, schedules, firing, materialisation, content, estimate);
campaigns/delivery/ the outbox loop; campaigns/responses/ what comes back from recipients;
campaigns/results/ conversions and reports.
"""

import campaigns.journeys.models  # noqa: F401 - messages refer to journeys, so that table must be on the metadata
import campaigns.segment_conditions  # noqa: F401 - registers message and conversion segment conditions
from campaigns.audience.caps import FrequencyCap
from campaigns.content.approval_samples import Sample, approval_samples
from campaigns.content.checks import CheckSettings, Finding
from campaigns.content.gallery import (
    GalleryEntry,
    copy_to_templates,
    delete_saved,
    gallery_entries,
    get_entry,
    save_to_gallery,
)
from campaigns.content.rendering import RenderFailed, TemplateInvalid, html_to_text
from campaigns.content.templates import (
    Preview,
    create_template,
    get_template,
    list_templates,
    preview_template,
    update_template,
    validate_template,
)
from campaigns.delivery.breaker import BreakerSettings, PausedChannel, paused_channels
from campaigns.delivery.callbacks import apply_channel_events
from campaigns.delivery.dispatch import ChannelContractBroken, Dispatcher
from campaigns.delivery.leases import release_expired_leases
from campaigns.delivery.seed_sends import (
    TestSend,
    add_seed_address,
    list_seed_addresses,
    remove_seed_address,
    send_test_message,
)
from campaigns.delivery.sender import ChannelUnavailable, answer_channel, send_campaign_now
from campaigns.delivery.throttle import SlowedChannel, slowed_channels
from campaigns.estimate import Estimate, estimate_campaign
from campaigns.firing import (
    Firing,
    due_scheduled_campaigns,
    fire_due_campaign,
    fire_scheduled_campaign,
    next_firings,
    planned_timing,
    schedule_campaign,
    set_campaign_schedule,
)
from campaigns.holiday_calendar import holiday_date, holiday_labels, holiday_names
from campaigns.lifecycle import (
    cancel_campaign,
    create_campaign,
    get_campaign,
    list_campaigns,
    send_campaign,
    update_campaign,
)
from campaigns.models import TEST_KIND, Campaign, Message, MessageEvent, Run, Template
from campaigns.notices import (
    Fallback,
    create_event_notice,
    due_planned_fallbacks,
    fallback_of,
    planned_fallback_at,
    resend_undelivered,
    send_planned_fallback,
)
from campaigns.responses.answers import (
    INBOX_KIND,
    AnswerChannel,
    AnswerNotAllowed,
    answer_conversation,
    answer_refusal,
    answer_reply,
)
from campaigns.responses.bounces import FeedbackApplied, apply_email_feedback
from campaigns.responses.canned import delete_canned_reply, get_canned_reply, list_canned_replies, save_canned_reply
from campaigns.responses.conversations import (
    ConversationView,
    ThreadEntry,
    assign_conversation,
    conversation_thread,
    get_conversation,
    get_reply,
    set_conversation_handled,
    set_reply_handled,
)
from campaigns.responses.inbox import (
    NOBODY,
    InboxPage,
    InboxRow,
    Waiting,
    contact_replies,
    count_replies,
    count_waiting,
    describe_replies,
    inbox_page,
    list_replies,
)
from campaigns.responses.inbox_models import (
    KEYWORD_ACTIONS,
    REPLY_CLASSES,
    CannedReply,
    ChannelHealth,
    Conversation,
    InboxAnswer,
    KeywordRule,
    Reply,
)
from campaigns.responses.preferences import PreferenceNotAllowed, Preferences, contact_preferences, save_preferences
from campaigns.responses.replies import (
    ReplyOutcome,
    Rule,
    create_keyword_rule,
    delete_keyword_rule,
    get_keyword_rule,
    keyword_rules,
    list_keyword_rules,
    record_reply,
    rules_by_keyword,
    send_keyword_answer,
    set_keyword_rule_enabled,
    update_keyword_rule,
)
from campaigns.responses.timeline import TimelineEntry, contact_timeline
from campaigns.responses.tracking import PIXEL_GIF, Fetch, record_click, record_open
from campaigns.responses.unsubscribe import unsubscribe_recipient
from campaigns.results.attribution import UnknownCurrency
from campaigns.results.conversion_import import import_conversions
from campaigns.results.conversions import ConversionReport, ConversionSettings, record_conversion
from campaigns.results.report_settings import ReportSettings
from campaigns.results.reports import (
    CampaignReport,
    CampaignStatus,
    campaign_report,
    campaign_status,
    campaign_statuses,
)
from campaigns.runs import RunSummary, SendingStart, campaign_runs, sending_starts
from campaigns.schedules import Schedule, ScheduleDefaults, schedule_of
from campaigns.states import (
    CampaignNotEditable,
    NotAllowed,
    Transition,
    approve_campaign,
    list_transitions,
    pause_campaign,
    reject_campaign,
    resume_campaign,
    submit_for_approval,
)


def dispatch_due(dispatcher: Dispatcher) -> int:
    """Run one dispatch round with `dispatcher` (see Dispatcher.dispatch_due); for callers that hold one."""
    return dispatcher.dispatch_due()


__all__ = [
    "AnswerChannel",
    "AnswerNotAllowed",
    "BreakerSettings",
    "Campaign",
    "CampaignNotEditable",
    "CampaignReport",
    "CampaignStatus",
    "CannedReply",
    "ChannelContractBroken",
    "ChannelHealth",
    "ChannelUnavailable",
    "CheckSettings",
    "Conversation",
    "ConversationView",
    "ConversionReport",
    "ConversionSettings",
    "Dispatcher",
    "Estimate",
    "Fallback",
    "FeedbackApplied",
    "Fetch",
    "Finding",
    "Firing",
    "FrequencyCap",
    "GalleryEntry",
    "INBOX_KIND",
    "InboxAnswer",
    "InboxPage",
    "InboxRow",
    "KEYWORD_ACTIONS",
    "KeywordRule",
    "Message",
    "MessageEvent",
    "NOBODY",
    "NotAllowed",
    "PIXEL_GIF",
    "PausedChannel",
    "PreferenceNotAllowed",
    "Preferences",
    "Preview",
    "REPLY_CLASSES",
    "RenderFailed",
    "Reply",
    "ReplyOutcome",
    "ReportSettings",
    "Rule",
    "Run",
    "RunSummary",
    "Sample",
    "Schedule",
    "ScheduleDefaults",
    "SendingStart",
    "SlowedChannel",
    "TEST_KIND",
    "Template",
    "TemplateInvalid",
    "TestSend",
    "ThreadEntry",
    "TimelineEntry",
    "Transition",
    "UnknownCurrency",
    "Waiting",
    "add_seed_address",
    "answer_channel",
    "answer_conversation",
    "answer_refusal",
    "answer_reply",
    "apply_channel_events",
    "apply_email_feedback",
    "approval_samples",
    "approve_campaign",
    "assign_conversation",
    "campaign_report",
    "campaign_runs",
    "campaign_status",
    "campaign_statuses",
    "cancel_campaign",
    "contact_preferences",
    "contact_replies",
    "contact_timeline",
    "conversation_thread",
    "copy_to_templates",
    "count_replies",
    "count_waiting",
    "create_campaign",
    "create_event_notice",
    "create_keyword_rule",
    "create_template",
    "delete_canned_reply",
    "delete_keyword_rule",
    "delete_saved",
    "describe_replies",
    "dispatch_due",
    "due_scheduled_campaigns",
    "estimate_campaign",
    "fallback_of",
    "due_planned_fallbacks",
    "planned_fallback_at",
    "send_planned_fallback",
    "fire_due_campaign",
    "fire_scheduled_campaign",
    "gallery_entries",
    "get_campaign",
    "get_canned_reply",
    "get_conversation",
    "get_entry",
    "get_keyword_rule",
    "get_reply",
    "get_template",
    "holiday_date",
    "holiday_labels",
    "holiday_names",
    "html_to_text",
    "import_conversions",
    "inbox_page",
    "keyword_rules",
    "list_campaigns",
    "list_canned_replies",
    "list_keyword_rules",
    "list_replies",
    "list_seed_addresses",
    "list_templates",
    "list_transitions",
    "next_firings",
    "pause_campaign",
    "paused_channels",
    "planned_timing",
    "preview_template",
    "record_click",
    "record_conversion",
    "record_open",
    "record_reply",
    "reject_campaign",
    "release_expired_leases",
    "remove_seed_address",
    "resend_undelivered",
    "resume_campaign",
    "rules_by_keyword",
    "save_canned_reply",
    "save_preferences",
    "save_to_gallery",
    "schedule_campaign",
    "schedule_of",
    "send_campaign",
    "send_campaign_now",
    "send_keyword_answer",
    "send_test_message",
    "sending_starts",
    "set_campaign_schedule",
    "set_conversation_handled",
    "set_keyword_rule_enabled",
    "set_reply_handled",
    "slowed_channels",
    "submit_for_approval",
    "unsubscribe_recipient",
    "update_campaign",
    "update_keyword_rule",
    "update_template",
    "validate_template",
]
