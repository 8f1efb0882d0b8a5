"""A template bound to a provider's registered template (Alibaba Cloud SMS, Tencent Cloud SMS): code, parameters, text.

Mainland Chinese SMS platforms send only texts registered and approved with them (模板), under an
approved signature, and take the template's code and its parameters, never free text. A Herald SMS
template binds to one by naming the code (`provider_template`, e.g. SMS_154950909 or 1110) and
mapping each placeholder of the registered text to a Jinja expression (`provider_params`, e.g.
{"name": "{{ contact.first_name }}"}). Its body is then the registered text exactly as approved,
placeholders included: ${name} (Alibaba Cloud) or {1} (Tencent Cloud).

Herald renders each parameter for the contact and fills the placeholders: that is the text the
recipient reads, so the preview shows it, the estimate counts it (with the channel's 【签名】, as the
platform bills), and the dispatcher hands the channel the code and the rendered parameters
(channels.Outgoing.template_code / template_params). A channel that takes free text (Twilio,
http-sms) sends the filled text, so a bound template still works there.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from campaigns.content import rendering as content
from campaigns.content.rendering import TemplateInvalid
from campaigns.models import Template

# ${name} as Alibaba Cloud writes a variable, {1} as Tencent Cloud does ({name} is taken too).
PLACEHOLDER = re.compile(r"\$\{(\w+)\}|\{(\w+)\}")
CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
JINJA = ("{{", "{%", "{#")


def placeholders(text: str) -> list[str]:
    """The placeholder names of a registered text, in order of first appearance."""
    names: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1) or match.group(2)
        if name not in names:
            names.append(name)
    return names


def fill(text: str, params: Mapping[str, str]) -> str:
    """The registered text with its placeholders replaced by the rendered parameters."""
    return PLACEHOLDER.sub(lambda m: params.get(m.group(1) or m.group(2), m.group(0)), text)


def check_binding(body: str, code: str, params: Mapping[str, str] | None, *,
                  custom_attributes: Collection[str]) -> None:
    """Check a template's binding as it would be saved; raises TemplateInvalid naming the field to fix.

    Without a code nothing is bound and no parameters may be given. With one, the body is the
    registered text: no Jinja in it, every placeholder has a parameter and every parameter a
    placeholder, and each parameter is a template that compiles and uses only known names.
    """
    params = dict(params or {})
    if not code:
        if params:
            raise TemplateInvalid("template parameters need a provider template code; enter the code the provider "
                                  "gave the registered template, or remove the parameters", field="provider_template")
        return
    if not CODE.fullmatch(code):
        raise TemplateInvalid(f'provider template code "{code[:80]}" is not a code: write it as the provider shows it, '
                              "e.g. SMS_154950909 (Alibaba Cloud) or 1110 (Tencent Cloud)", field="provider_template")
    if any(mark in body for mark in JINJA):
        raise TemplateInvalid("a provider template's text is the text registered with the provider, placeholders "
                              "written as ${name} or {1}; put {{ … }} in the parameters instead", field="body")
    names = placeholders(body)
    for name in names:
        if name not in params:
            raise TemplateInvalid(f'placeholder "{name}" of the registered text has no parameter; add a line '
                                  f'"{name} = {{{{ contact.first_name }}}}" (or whatever it should show)',
                                  field="provider_params")
    for name, expression in params.items():
        if name not in names:
            known = ", ".join(names) or "none"
            raise TemplateInvalid(f'parameter "{name}" is not a placeholder of the registered text (placeholders: '
                                  f"{known}); remove it or correct its name", field="provider_params")
        if not str(expression).strip():
            raise TemplateInvalid(f'parameter "{name}" is empty; write what it shows, e.g. '
                                  "{{ contact.first_name }}", field="provider_params")
        try:
            content.check_parts("sms", {"body": str(expression)}, custom_attributes=custom_attributes, require=False)
        except TemplateInvalid as exc:
            raise TemplateInvalid(f'parameter "{name}": {exc.message}', field="provider_params") from None


def render_bound(template: Template, context: Mapping[str, Any],
                 compiled: dict[tuple[int, str], Any] | None = None) -> tuple[str, dict[str, str]]:
    """The filled text and the rendered parameters of a bound template for one contact's `context`.

    `compiled` caches the compiled parameters per (template id, name) across a batch. Raises
    content.RenderFailed naming the parameter.
    """
    compiled = {} if compiled is None else compiled
    params: dict[str, str] = {}
    for name, expression in (template.provider_params or {}).items():
        part = f"parameter {name}"
        key = (template.id, part)
        if key not in compiled:
            try:
                compiled[key] = content.compile_part(part, str(expression))
            except TemplateInvalid as exc:  # saved before this check existed, or edited in SQL
                raise content.RenderFailed(exc.message, field=part, line=exc.line) from None
        params[name] = content.render_part(part, compiled[key], context)
    return fill(template.body or "", params), params


def is_bound(template: Template | None) -> bool:
    return template is not None and template.channel == "sms" and bool(template.provider_template)
