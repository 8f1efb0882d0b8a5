"""Template content: sandboxed Jinja, checked when saved, rendered per message, HTML turned into text.

Marketers write templates, so a template must never reach Python: every part is compiled by a
SandboxedEnvironment, which refuses `__class__`, `mro()` and the like. The HTML part is autoescaped
(a contact's name may contain `<`); subject, text and SMS body are plain text and are not.

Errors surface when a template is saved (`check_parts`): a syntax error, or a name the context does
not have (`contact.frist_name`), is a TemplateInvalid naming the part and the line. At send time a
custom attribute that one contact lacks renders as empty, so `{{ contact.tier | default("friend") }}`
works; anything else that goes wrong fails only that message (RenderFailed, with a readable reason).
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Collection, Iterator, Mapping
from html.parser import HTMLParser
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SecurityError

from audiences.models import CONTACT_FIELDS
from campaigns.content.budget import BudgetedEnvironment, OverBudget, render_within_budget
from core.errors import Invalid

EMAIL_PARTS = ("subject", "html", "text")
SMS_PARTS = ("body",)
PARTS = {"email": EMAIL_PARTS, "sms": SMS_PARTS}

# What `contact` offers besides the custom attributes (audiences.models.Contact.as_template_context).
CONTACT_NAMES = (*CONTACT_FIELDS, "id", "name", "attributes")
CAMPAIGN_NAMES = ("id", "name")
CONTEXT_NAMES = ("contact", "campaign", "unsubscribe_url", "event")

# Filters and tests that say "this may be missing": a name used through them is not an error even if
# no contact has it yet, because the template already says what to show instead.
TOLERANT_FILTERS = frozenset({"default", "d"})
TOLERANT_TESTS = frozenset({"defined", "undefined", "none"})


class TemplateInvalid(Invalid):
    """A template part cannot be saved: `.field` names the part, `.line` the line (1-based) when known."""


class TemplateTooDeep(TemplateInvalid):
    """Expressions or blocks nested so deeply that Jinja's recursive parser and compiler run out of stack."""

    http_status = 400


class RenderFailed(Exception):
    """One message could not be rendered; `reason` is written for a marketer (part, line, what went wrong)."""

    def __init__(self, reason: str, *, field: str = "", line: int | None = None, over_budget: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.line = line
        self.over_budget = over_budget  # the template did too much work (campaigns/content/budget.py)


# Environments are thread-safe for compiling and rendering, so one of each serves every sender thread.
# Both bound the work a template may do (campaigns/content/budget.py).
_TEXT_ENV = BudgetedEnvironment(autoescape=False)
_HTML_ENV = BudgetedEnvironment(autoescape=True)

# How deep a template's syntax tree may be: a rich email template is about 15 (blocks in blocks, filters
# on attributes); see _check_nesting for why there is a limit at all.
MAX_NESTING = 60
TOO_DEEP = ("is nested too deeply for Python to follow (a macro calling itself, brackets inside brackets or "
            "filters after filters by the hundred); simplify it")


def environment_for(field: str) -> BudgetedEnvironment:
    return _HTML_ENV if field == "html" else _TEXT_ENV


def compile_part(field: str, source: str) -> Any:
    """Compile one part; raises TemplateInvalid on a syntax error, naming the part and the line.

    The part's name becomes the template's file name, so a render error's traceback says which part
    and which line failed (see `_template_line`).
    """
    env = environment_for(field)
    try:
        ast = env.parse(source, name=field, filename=_filename(field))
        _check_nesting(field, ast)
        code = env.compile(ast, name=field, filename=_filename(field))
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(f"{field} line {exc.lineno}: {exc.message}", field=field, line=exc.lineno) from None
    except (RecursionError, SyntaxError):  # Jinja's parser recursing, or Python refusing the code Jinja made
        # from it ("too many nested parentheses"): both mean too deep.
        raise TemplateTooDeep(f"{field} {TOO_DEEP}", field=field) from None
    return env.template_class.from_code(env, code, env.make_globals(None))


def _check_nesting(field: str, ast: nodes.Template) -> None:
    """Refuse a syntax tree deeper than MAX_NESTING before Jinja compiles it: compiling takes time that
    grows with the cube of the depth (200 filters in a row: 4 s of CPU), parsing it does not."""
    stack = [(ast, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise TemplateTooDeep(f"{_where(field, node.lineno)} {TOO_DEEP}", field=field, line=node.lineno)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


def render_part(field: str, template: Any, context: Mapping[str, Any]) -> str:
    """Render a compiled part within the template budget; raises RenderFailed with the part, the line and
    Jinja's words (or the limit that was reached)."""
    try:
        return render_within_budget(template, context)
    except RecursionError:
        raise RenderFailed(f"{field} {TOO_DEEP}", field=field, over_budget=True) from None
    except OverBudget as exc:
        line = _template_line(exc, field)
        raise RenderFailed(f"{_where(field, line)}: too much work for one message: {exc}", field=field,
                           line=line, over_budget=True) from None
    except SecurityError as exc:
        line = _template_line(exc, field)
        raise RenderFailed(f"{_where(field, line)}: not allowed in a template: {exc}", field=field,
                           line=line) from None
    except Exception as exc:  # noqa: BLE001 - any error inside a marketer's template fails only this message
        line = _template_line(exc, field)
        raise RenderFailed(f"{_where(field, line)}: {exc}", field=field, line=line) from None


def check_parts(channel: str, parts: Mapping[str, str], *, custom_attributes: Collection[str],
                require: bool = True) -> None:
    """Validate a template's parts for `channel`; raises TemplateInvalid on the first problem.

    `require` checks that the channel's needed parts are present (email: subject and html or text;
    SMS: body). Each non-empty part must compile, may only use the context's names (`contact` fields
    and `custom_attributes`, `campaign`, `unsubscribe_url`) and must not touch Python internals.
    """
    if require:
        _check_required(channel, parts)
    for field in PARTS[channel]:
        source = parts.get(field) or ""
        if not source.strip():
            continue
        template = compile_part(field, source)
        try:  # compile_part parsed it already; walking the tree again recurses as deep as it nests
            ast = environment_for(field).parse(source)
            _check_names(field, ast, custom_attributes=custom_attributes)
            _check_sandbox(field, template, custom_attributes)
        except RecursionError:
            raise TemplateTooDeep(f"{field} {TOO_DEEP}", field=field) from None


def _check_required(channel: str, parts: Mapping[str, str]) -> None:
    def present(field: str) -> bool:
        return bool((parts.get(field) or "").strip())

    if channel == "sms" and not present("body"):
        raise TemplateInvalid("an SMS template needs a body; write the text to send", field="body")
    if channel == "email":
        if not present("subject"):
            raise TemplateInvalid("an email template needs a subject", field="subject")
        if not present("html") and not present("text"):
            raise TemplateInvalid("an email template needs an HTML or a text part (text is derived from HTML "
                                  "when empty)", field="html")


def _walk(node: nodes.Node, parent: nodes.Node | None = None) -> Iterator[tuple[nodes.Node, nodes.Node | None]]:
    yield node, parent
    for child in node.iter_child_nodes():
        yield from _walk(child, node)


def _is_tolerant(parent: nodes.Node | None) -> bool:
    return (isinstance(parent, nodes.Filter) and parent.name in TOLERANT_FILTERS) or (
        isinstance(parent, nodes.Test) and parent.name in TOLERANT_TESTS
    )


def _check_names(field: str, ast: nodes.Template, *, custom_attributes: Collection[str]) -> None:
    """Reject names the context will not have, naming the first one found and its line.

    Done on the syntax tree rather than by a trial render, so a typo inside an `{% if %}` branch the
    sample contact would not take is caught too.
    """
    allowed_top = set(CONTEXT_NAMES) | set(environment_for(field).globals)
    unknown_top = find_undeclared_variables(ast) - allowed_top
    custom = sorted(set(custom_attributes) - set(CONTACT_NAMES))
    known = {"contact": set(CONTACT_NAMES) | set(custom), "campaign": set(CAMPAIGN_NAMES)}
    for node, parent in _walk(ast):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise TemplateInvalid(
                f'{field} line {node.lineno}: "{node.attr}" cannot be used in a template (names starting with "_" '
                "are Python internals); remove it",
                field=field, line=node.lineno,
            )
        if isinstance(node, nodes.Name) and node.ctx == "load" and node.name in unknown_top:
            raise TemplateInvalid(
                f'{field} line {node.lineno}: "{node.name}" is not defined; a template can use contact (e.g. '
                "contact.first_name), campaign (campaign.name), unsubscribe_url and, in a journey, event "
                "(event.properties.order_no)",
                field=field, line=node.lineno,
            )
        name = _context_attribute(node)
        if name is None or name[1] in known[name[0]] or _is_tolerant(parent):
            continue
        raise TemplateInvalid(_unknown_attribute_message(field, node.lineno, name, custom), field=field,
                              line=node.lineno)


def _context_attribute(node: nodes.Node) -> tuple[str, str] | None:
    """("contact", "tier") for `contact.tier` or `contact["tier"]`; None for anything else."""
    if not isinstance(node, nodes.Getattr | nodes.Getitem):
        return None
    target = node.node
    if not (isinstance(target, nodes.Name) and target.name in ("contact", "campaign")):
        return None
    if isinstance(node, nodes.Getattr):
        return target.name, node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return target.name, node.arg.value
    return None  # contact[some_variable]: cannot be checked before sending


def _unknown_attribute_message(field: str, line: int, name: tuple[str, str], custom: list[str]) -> str:
    owner, attr = name
    where = f'{field} line {line}: "{owner}.{attr}" is not defined'
    if owner == "campaign":
        return f"{where}; campaign fields: {', '.join(CAMPAIGN_NAMES)}"
    fields = ", ".join(CONTACT_NAMES)
    if custom:
        shown = ", ".join(custom[:12]) + (", …" if len(custom) > 12 else "")
        return f"{where}; contact fields: {fields} and custom attributes such as {shown}"
    return (f"{where}; contact fields: {fields}; no contact has custom attributes yet — import contacts with a "
            f'"{attr}" column first, or write {{{{ contact.{attr} | default("…") }}}}')


def _check_sandbox(field: str, template: Any, custom_attributes: Collection[str]) -> None:
    """A trial render with the sample contact, to catch what only the sandbox sees (e.g. `mro()`) and a
    template that does too much work (a huge number, a loop inside a loop, a macro calling itself).

    Only those are reported here: other render errors depend on the contact's data and are left to
    preview and to the per-message failure at send time.
    """
    context = template_context(sample_contact(custom_attributes), campaign_name="Sample campaign",
                               unsubscribe_url="https://example.com/u/sample")
    try:
        render_within_budget(template, context)
    except RecursionError:
        raise TemplateInvalid(f"{field} {TOO_DEEP}", field=field) from None
    except OverBudget as exc:
        line = _template_line(exc, field)
        raise TemplateInvalid(f"{_where(field, line)}: too much work for one message: {exc}", field=field,
                              line=line) from None
    except SecurityError as exc:
        line = _template_line(exc, field)
        raise TemplateInvalid(f"{_where(field, line)}: not allowed in a template: {exc}", field=field,
                              line=line) from None
    except Exception:  # noqa: BLE001, S110 - data-dependent errors are reported at preview/send time
        pass


def template_context(contact: Mapping[str, Any], *, campaign_name: str, unsubscribe_url: str,
                     campaign_id: int | None = None, event: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The names a template sees. `event` is the event that brought the contact into a journey ({"name",
    "properties"}); other messages see an event with no name and no properties, so
    `{{ event.properties.order_no | default("") }}` renders empty there."""
    return {
        "contact": dict(contact),
        "campaign": {"id": campaign_id, "name": campaign_name},
        "unsubscribe_url": unsubscribe_url,
        "event": dict(event) if event is not None else {"name": "", "properties": {}},
    }


def sample_contact(custom_attributes: Collection[str] = ()) -> dict[str, Any]:
    """A placeholder contact for previews and checks when there is no real one."""
    attributes = {name: f"[{name}]" for name in custom_attributes if name not in CONTACT_NAMES}
    contact: dict[str, Any] = dict(attributes)
    contact.update(
        id=0, external_id="sample-1", email="alex.sample@example.com", phone="+15555550100", first_name="Alex",
        last_name="Sample", company="Example Ltd", country="US", locale="en", time_zone="UTC", birthday=None,
        name="Alex Sample", attributes=attributes,
    )
    return contact


def _filename(field: str) -> str:
    return f"<template {field}>"


def _template_line(exc: BaseException, field: str) -> int | None:
    """The template line an error was raised at: Jinja rewrites tracebacks to point at the template."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == _filename(field):
            line = frame.lineno
    return line


def _where(field: str, line: int | None) -> str:
    return f"{field} line {line}" if line else field


# ------------------------------------------------------------------ HTML -> text
_BLOCKS = frozenset({"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "table", "ul", "ol",
                     "blockquote", "section", "article", "header", "footer", "hr", "pre"})
_SKIP = frozenset({"script", "style", "head", "title"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.link: tuple[str, list[str]] | None = None  # (href, text collected inside the <a>)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "a":
            self.link = (dict(attrs).get("href") or "", [])
        elif tag in _BLOCKS:
            self._emit("\n- " if tag == "li" else "\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "a" and self.link is not None:
            href, parts = self.link
            self.link = None
            label = " ".join("".join(parts).split())
            if href and not href.startswith(("#", "mailto:")) and href != label:
                self._emit(f"{label} ({href})" if label else href)
            else:
                self._emit(label)
        elif tag in _BLOCKS and tag != "li":  # list items start a line; a blank line between them is noise
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.link is not None:
            self.link[1].append(data)
        else:
            self._emit(data)

    def _emit(self, text: str) -> None:
        if self.link is not None:
            self.link[1].append(text)
        else:
            self.out.append(text)


def html_to_text(html: str) -> str:
    """The plain-text part of an email, derived from its HTML.

    Tags, scripts and styles are dropped; a link keeps its address as "text (url)"; spaces collapse
    within a line and block elements (p, div, li, headings, br) become line breaks, at most one blank
    line in a row.
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)
