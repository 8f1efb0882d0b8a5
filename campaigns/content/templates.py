"""Templates: create, change, read, and preview for a real contact. Saving checks them (content/rendering.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audiences import first_contact, get_contact, recent_attribute_names
from campaigns.content import rendering as content
from campaigns.content.checks import CheckSettings, Finding, check_email, check_sms
from campaigns.content.provider_templates import check_binding, render_bound
from campaigns.content.rendering import PARTS, RenderFailed, TemplateInvalid
from campaigns.models import CHANNELS, HIDDEN_KINDS, Campaign, Link, Message, Template
from campaigns.responses.tracking import sms_as_sent, tracks_clicks
from campaigns.states import check_template_editable
from channels import SmsSize, count_sms
from core.config import TrackingConfig
from core.errors import Invalid, NotFound

EDITABLE = ("name", "subject", "html", "text", "body", "provider_template", "provider_params")
# The most recent contacts whose custom attribute names a template may use without `| default(...)`.
ATTRIBUTE_SAMPLE_SIZE = 1000


def _check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise Invalid(f'channel "{channel}" is not known; a template is for one of: {", ".join(CHANNELS)}',
                      field="channel")
    return channel


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid("a template needs a name", field="name")
    if len(name) > 200:
        raise Invalid(f"a template name has at most 200 characters; this one has {len(name)}", field="name")
    return name


def validate_template(session: Session, *, channel: str, subject: str = "", html: str = "", text: str = "",
                      body: str = "", sms_max_length: int | None = None, provider_template: str = "",
                      provider_params: Mapping[str, str] | None = None) -> None:
    """Check a template as it would be saved; raises TemplateInvalid (.field, .line) or Invalid.

    Custom attribute names come from the most recent contacts (one query), so `contact.tier` is
    accepted once contacts have a tier. `sms_max_length` is the SMS channel's limit (Channel.max_length):
    an SMS template longer than that cannot be saved (email templates are not affected). An SMS template
    may be bound to a provider's registered template (`provider_template`, `provider_params`:
    campaigns/content/provider_templates.py); an email template may not.
    """
    _check_channel(channel)
    parts = {"subject": subject, "html": html, "text": text, "body": body}
    _check_parts_for_channel(channel, parts)
    if channel != "sms" and (provider_template or provider_params):
        raise Invalid("only an SMS template can be bound to a provider template code", field="provider_template")
    if channel == "sms" and sms_max_length is not None:
        _check_sms_length(body, sms_max_length)
    attributes = _custom_attribute_names(session)
    content.check_parts(channel, parts, custom_attributes=attributes)
    if channel == "sms":
        check_binding(body, provider_template, provider_params, custom_attributes=attributes)


def _custom_attribute_names(session: Session) -> set[str]:
    return recent_attribute_names(session, sample=ATTRIBUTE_SAMPLE_SIZE)


def _check_parts_for_channel(channel: str, parts: dict[str, str]) -> None:
    foreign = [f for f, v in parts.items() if v and f not in PARTS[channel]]
    if foreign:
        raise Invalid(f"an {channel} template has no {', '.join(foreign)}; use "
                      f"{', '.join(PARTS[channel])}", field=foreign[0])


def _check_sms_length(body: str, max_length: int) -> None:
    # The template's own text, not a rendering: a template already over the limit can only render over
    # it too (unless it drops text), and its fields are checked again on every message at send time.
    if len(body) > max_length:
        raise Invalid(f"an SMS template has at most {max_length:,} characters, the SMS channel's limit "
                      f"(max_length= on [channels.sms] url; Twilio refuses longer messages); this one has "
                      f"{len(body):,} — shorten it", field="body")


def create_template(session: Session, *, name: str, channel: str, subject: str = "", html: str = "",
                    text: str = "", body: str = "", now: datetime, sms_max_length: int | None = None,
                    provider_template: str = "", provider_params: Mapping[str, str] | None = None) -> Template:
    """Create a template after checking it (`sms_max_length` and the provider binding: see validate_template);
    commits. Raises TemplateInvalid or Invalid."""
    name = _check_name(name)
    provider_template, provider_params = _binding(provider_template, provider_params)
    validate_template(session, channel=channel, subject=subject, html=html, text=text, body=body,
                      sms_max_length=sms_max_length, provider_template=provider_template,
                      provider_params=provider_params)
    template = Template(name=name, channel=channel, subject=subject, html=html, text=text, body=body,
                        provider_template=provider_template, provider_params=provider_params or None,
                        created_at=now, updated_at=now)
    session.add(template)
    session.commit()
    return template


def update_template(session: Session, template_id: int, *, now: datetime, sms_max_length: int | None = None,
                    **fields: Any) -> Template:
    """Change a template's name or parts (not its channel); checks the result (`sms_max_length`: see
    validate_template); commits.

    Raises NotFound, Invalid (unknown field), TemplateInvalid, or CampaignNotEditable while a campaign
    that uses it waits for approval, is scheduled, running or paused (its content is frozen then).
    """
    template = get_template(session, template_id)
    check_template_editable(session, template.id, template.name)
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise Invalid(f"template fields {', '.join(unknown)} cannot be changed; editable fields: "
                      f"{', '.join(EDITABLE)} (to change the channel, create a new template)", field=unknown[0])
    merged = {part: fields.get(part, getattr(template, part)) or "" for part in ("subject", "html", "text", "body")}
    name = _check_name(fields.get("name", template.name))
    code, params = _binding(fields.get("provider_template", template.provider_template),
                            fields.get("provider_params", template.provider_params))
    validate_template(session, channel=template.channel, sms_max_length=sms_max_length, provider_template=code,
                      provider_params=params, **merged)
    template.name = name
    for part, value in merged.items():
        setattr(template, part, value)
    template.provider_template, template.provider_params = code, params or None
    template.updated_at = now
    session.commit()
    return template


def _binding(code: object, params: object) -> tuple[str, dict[str, str]]:
    """The provider binding as stored: the code stripped, the parameters a {name: expression} object."""
    if params is not None and not isinstance(params, Mapping):
        raise Invalid("provider_params is an object of placeholder name to Jinja expression, e.g. "
                      '{"name": "{{ contact.first_name }}"}', field="provider_params")
    parsed = {str(name).strip(): str(value) for name, value in (params or {}).items()}
    return str(code or "").strip(), parsed


def get_template(session: Session, template_id: int) -> Template:
    """Raises NotFound naming the id."""
    template = session.get(Template, template_id)
    if template is None:
        raise NotFound(f"template {template_id} does not exist; see the template list for the ids that do")
    return template


def list_templates(session: Session, *, channel: str | None = None) -> list[Template]:
    """All templates, newest first; only one channel's if `channel` is given. The templates of Herald's own
    campaigns (HIDDEN_KINDS: Inbox answers and sign-up confirmations, whose messages carry their own text) are
    left out."""
    hidden = select(Campaign.template_id).where(Campaign.kind.in_(HIDDEN_KINDS))
    query = select(Template).where(Template.id.not_in(hidden)).order_by(Template.id.desc())
    if channel is not None:
        query = query.where(Template.channel == _check_channel(channel))
    return list(session.scalars(query))


@dataclass(frozen=True)
class Preview:
    subject: str
    html: str
    text: str
    body: str
    sms: SmsSize | None  # segment count of the rendered SMS body, links as they will be sent; None for email
    contact_id: int | None = None  # whose data filled it in; None = the placeholder sample contact
    short_links: bool = False  # SMS: links were counted as the short links they will be sent as
    checks: tuple[Finding, ...] | None = None  # the pre-send checks (campaigns/content/checks); None: not asked for

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "body": self.body,
            "sms": self.sms.to_dict() if self.sms else None,
            "contact_id": self.contact_id,
            "short_links": self.short_links,
            "checks": None if self.checks is None else [finding.to_dict() for finding in self.checks],
        }


def preview_template(session: Session, *, channel: str, subject: str = "", html: str = "", text: str = "",
                     body: str = "", contact_id: int | None, base_url: str,
                     campaign_name: str = "Preview", tracking: TrackingConfig | None = None,
                     as_sent: Callable[[str], str] | None = None, provider_template: str = "",
                     provider_params: Mapping[str, str] | None = None,
                     checks: CheckSettings | None = None) -> Preview:
    """Render unsaved template parts for a real contact: `contact_id`, else the first contact, else a
    placeholder sample. Email text is derived from the HTML when empty; SMS gets its segment count, counted
    with each link as the short link it will be sent as when `tracking` ([tracking]) shortens SMS links, and
    with what the SMS channel adds to the text (`as_sent`, channels.text_as_sent: an http-sms signature, a
    【签名】). A template bound to a provider template (`provider_template`) shows its registered text with
    the parameters filled in, as the provider will send it. With `checks`, the preview carries the pre-send
    checks of what it rendered (campaigns/content/checks).

    Raises TemplateInvalid (.field, .line) for a syntax error, an unknown name, or an error while
    rendering for this contact; NotFound if `contact_id` does not exist.
    """
    _check_channel(channel)
    parts = {"subject": subject, "html": html, "text": text, "body": body}
    _check_parts_for_channel(channel, parts)
    content.check_parts(channel, parts, custom_attributes=_custom_attribute_names(session),
                        require=False)
    contact = get_contact(session, contact_id) if contact_id is not None else first_contact(session)
    contact_data = contact.as_template_context() if contact is not None else content.sample_contact()
    context = content.template_context(contact_data, campaign_name=campaign_name,
                                       unsubscribe_url=f"{base_url.rstrip('/')}/u/preview")
    rendered = {field: _render(field, parts[field], context) for field in PARTS[channel]}
    code, params = _binding(provider_template, provider_params)
    if channel == "sms" and code:
        check_binding(body, code, params, custom_attributes=_custom_attribute_names(session))
        bound = Template(id=0, channel="sms", body=body, provider_template=code, provider_params=params)
        try:
            rendered["body"] = render_bound(bound, context)[0]
        except RenderFailed as exc:
            raise TemplateInvalid(exc.reason, field="provider_params", line=exc.line) from None
    shorten = channel == "sms" and tracking is not None and tracks_clicks(tracking, channel="sms")
    if channel == "email" and not rendered["text"].strip() and rendered["html"]:
        rendered["text"] = content.html_to_text(rendered["html"])
    sent = _sms_as_sent(session, rendered["body"], base_url=base_url, shorten=shorten, as_sent=as_sent) \
        if channel == "sms" else ""
    size = count_sms(sent) if channel == "sms" else None
    found: tuple[Finding, ...] | None = None
    if checks is not None and channel == "email":
        found = tuple(check_email(subject=rendered["subject"], html=rendered["html"], text=rendered["text"],
                                  source_html=html, source_text=text))
    elif checks is not None and size is not None:
        short = len(short_link_example(session, base_url=base_url)) if shorten else 0
        found = tuple(check_sms(body=rendered["body"], as_sent=sent, size=size, shortened=shorten,
                                short_length=short, settings=checks))
    return Preview(
        subject=rendered.get("subject", ""),
        html=rendered.get("html", ""),
        text=rendered.get("text", ""),
        body=rendered.get("body", ""),
        sms=size,
        contact_id=contact.id if contact is not None else None,
        short_links=shorten,
        checks=found,
    )


def short_link_example(session: Session, *, base_url: str) -> str:
    """A short link as the next SMS sent would carry it, to show how long links are counted."""
    return _as_sent(session, "https://example.com", base_url)


def _sms_as_sent(session: Session, body: str, *, base_url: str, shorten: bool,
                 as_sent: Callable[[str], str] | None) -> str:
    """The SMS body as the recipient will get it: short links (when `shorten`), then what the channel adds."""
    sent = _as_sent(session, body, base_url) if shorten else body
    return as_sent(sent) if as_sent is not None else sent


def _as_sent(session: Session, body: str, base_url: str) -> str:
    """The SMS body with its links as long as the short links of the next message sent would be."""
    next_message = (session.scalar(select(func.max(Message.id))) or 0) + 1
    next_link = (session.scalar(select(func.max(Link.id))) or 0) + 1
    return sms_as_sent(body, base_url=base_url.rstrip("/"), message_id=next_message, link_id=next_link)


def _render(field: str, source: str, context: dict[str, Any]) -> str:
    if not source:
        return ""
    try:
        return content.render_part(field, content.compile_part(field, source), context)
    except RenderFailed as exc:
        raise TemplateInvalid(exc.reason, field=field, line=exc.line) from None
