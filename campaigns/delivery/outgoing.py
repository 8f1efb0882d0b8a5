"""A claimed message made into what its channel sends: rendered from its template in the sandbox (or, for a
text written for that one message — an Inbox answer, a sign-up confirmation — as written), links tracked,
the unsubscribe link and headers added, the same Message-ID / idempotency key on every try, and a text over
its channel's length refused before it is sent (campaigns/delivery/dispatch.py calls it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from campaigns.content import rendering as content
from campaigns.content.provider_templates import is_bound, render_bound
from campaigns.content.rendering import RenderFailed
from campaigns.delivery.outbox import ClaimedMessage
from campaigns.models import TEST_KIND
from campaigns.responses.tracking import LinkBook, tracker_for
from channels import Channel, Outgoing, Refused, SendResult
from core.config import TrackingConfig
from core.db import Database
from core.ids import sign


def unsubscribe_url(base_url: str, secret_key: str, message_id: int) -> str:
    return f"{base_url}/u/{message_id}/{sign(secret_key, f'u:{message_id}')}"


def list_unsubscribe(url: str, mailbox: str, secret_key: str, message_id: int) -> str:
    """The List-Unsubscribe header (RFC 2369): the https link (one-click, RFC 8058) and, when an unsubscribe
    mailbox is configured, a mailto: whose subject carries the same signed token, so the mailbox reader
    (campaigns/responses/mailbox.py) can unsubscribe whoever sends it without trusting the sender's address."""
    if not mailbox:
        return f"<{url}>"
    token = f"{message_id}.{sign(secret_key, f'u:{message_id}')}"
    return f"<{url}>, <mailto:{mailbox}?subject=unsubscribe%20{token}>"


def status_callback_url(base_url: str, message_id: int) -> str:
    return f"{base_url}/webhooks/twilio/status/{message_id}"


class Composer:
    """Renders claimed messages for one sender thread: it holds that thread's LinkBook (tracked links are
    numbered once per batch and remembered) and the channels, whose max_length bounds a text."""

    def __init__(self, database: Database, channels: Mapping[str, Channel], *, base_url: str, secret_key: str,
                 tracking: TrackingConfig, unsubscribe_mailbox: str = "") -> None:
        self.channels = channels
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key
        self.host = urlsplit(self.base_url).hostname or "localhost"
        self.tracking = tracking
        self.links = LinkBook(database)
        self.unsubscribe_mailbox = unsubscribe_mailbox

    def render(self, batch: Sequence[ClaimedMessage]) -> tuple[dict[int, Outgoing], list[SendResult]]:
        """Render every message; one that fails becomes a permanent refusal on its own: "template" when it
        cannot be rendered, "too_long" when it renders over its channel's max_length."""
        outgoing: dict[int, Outgoing] = {}
        refused: list[SendResult] = []
        compiled: dict[tuple[int, str], Any] = {}  # a batch usually shares one template: compile it once
        with self.links.batch():  # new tracked links are numbered once for the whole batch
            for claimed in batch:
                if not claimed.message.address:  # materialise suppresses these; an address edited away since
                    refused.append(Refused(claimed.message.id, permanent=True, code="no_address",
                                           reason="the message has no address to send to"))
                    continue
                try:
                    outgoing[claimed.message.id] = self.message(claimed, compiled)
                except RenderFailed as exc:
                    refused.append(Refused(claimed.message.id, permanent=True, code="template", reason=exc.reason))
            outgoing = self.links.settle(outgoing, self.base_url, self.secret_key)
        for message_id, message in list(outgoing.items()):
            if (too_long := self.too_long(message)) is not None:
                refused.append(too_long)
                del outgoing[message_id]
        return outgoing, refused

    def too_long(self, message: Outgoing) -> Refused | None:
        """A permanent refusal for a text over its channel's max_length (a long custom field rendered into
        the template); None when it fits. Checked on the final text, short links included."""
        channel = self.channels.get(message.channel)
        limit = channel.max_length if channel is not None else None
        if limit is None or len(message.body) <= limit:
            return None
        return Refused(message.message_id, permanent=True, code="too_long",
                       reason=f"the message is {len(message.body):,} characters long once rendered; the "
                              f"{message.channel} channel ({channel.describe()}) takes at most {limit:,}, so it "
                              "was not sent — shorten the template or the contact field it shows")

    def message(self, claimed: ClaimedMessage, compiled: dict[tuple[int, str], Any] | None = None) -> Outgoing:
        """The Outgoing for one claimed message; raises RenderFailed with a marketer-readable reason."""
        message, template, campaign = claimed.message, claimed.template, claimed.campaign
        compiled = {} if compiled is None else compiled
        url = unsubscribe_url(self.base_url, self.secret_key, message.id)
        context = content.template_context(claimed.contact.as_template_context(), campaign_name=campaign.name,
                                           campaign_id=campaign.id, unsubscribe_url=url, event=claimed.event)

        def part(field: str) -> str:
            source = getattr(template, field) or ""
            if not source:
                return ""
            key = (template.id, field)
            if key not in compiled:
                try:
                    compiled[key] = content.compile_part(field, source)
                except content.TemplateInvalid as exc:  # saved before validation existed, or edited in SQL
                    raise RenderFailed(exc.message, field=field, line=exc.line) from None
            return content.render_part(field, compiled[key], context)

        tracker = tracker_for(campaign, message, settings=self.tracking, base_url=self.base_url,
                              secret=self.secret_key, links=self.links)
        if message.channel == "sms" and is_bound(template):
            # The provider sends its registered text with these parameters, not Herald's text: links are left
            # as written, since a short link in `body` would not be the link the recipient gets.
            body, params = render_bound(template, context, compiled)
            return Outgoing(message.id, "sms", message.address or "", body=body,
                            status_callback_url=status_callback_url(self.base_url, message.id),
                            idempotency_key=f"herald.{message.id}@{self.host}",
                            template_code=template.provider_template, template_params=params)
        if message.channel == "sms":
            if message.body is not None:  # written by a person (an Inbox answer): sent as written
                body = message.body
            else:
                body = part("body")
                body = tracker.text(body) if tracker.links is not None else body  # short links only when asked for
            return Outgoing(message.id, "sms", message.address or "", body=body,
                            status_callback_url=status_callback_url(self.base_url, message.id),
                            idempotency_key=f"herald.{message.id}@{self.host}")
        if message.body is not None:
            # Written for this one message (a sign-up confirmation, campaigns/signups/confirmation.py): its HTML
            # is sent as written, links untracked, the text part derived from it; the subject is the template's.
            html = message.body
            text = content.html_to_text(html)
        else:
            html = tracker.html(part("html"))  # links -> /l/…, the open pixel when the campaign tracks opens
            text = tracker.text(part("text")) or (content.html_to_text(html) if html else "")
        headers = {
            # The same on every try: a resend after a lost answer (at-least-once) can be dropped as a copy.
            "Message-ID": f"<herald.{message.id}@{self.host}>",
            "List-Unsubscribe": list_unsubscribe(url, self.unsubscribe_mailbox, self.secret_key, message.id),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        subject = part("subject")
        if campaign.kind == TEST_KIND:  # a test send (campaigns/delivery/seed_sends.py): marked for its reader
            subject = f"[Test] {subject}"
            headers["X-Herald-Test"] = "yes"
        return Outgoing(message.id, "email", message.address or "", body=text, subject=subject, html=html,
                        headers=headers, sender=campaign.sender or "",
                        idempotency_key=f"herald.{message.id}@{self.host}")


def group_by_channel(outgoing: Mapping[int, Outgoing]) -> dict[str, list[Outgoing]]:
    """{"email": [...], "email:offers": [...], "sms": [...]} in message id order: a named email sender
    (campaign.sender) is a channel of its own, "email:NAME" (campaigns/delivery/sender.py opens it)."""
    groups: dict[str, list[Outgoing]] = defaultdict(list)
    for message_id in sorted(outgoing):
        message = outgoing[message_id]
        groups[f"{message.channel}:{message.sender}" if message.sender else message.channel].append(message)
    return dict(groups)


def answers_by_channel(outgoing: Mapping[int, Outgoing], answers: Sequence[SendResult]) -> dict[str, list[SendResult]]:
    """The answers to messages in `outgoing`, by the message's channel ("email", "sms")."""
    by_channel: dict[str, list[SendResult]] = defaultdict(list)
    for answer in answers:
        if answer.message_id in outgoing:
            by_channel[outgoing[answer.message_id].channel].append(answer)
    return by_channel
