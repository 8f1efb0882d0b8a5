"""The email around a gallery template's words: one responsive, client-safe layout for every ready
template, so the data files hold only what differs (subject, heading, paragraphs).

Tables for layout and inline styles, because Outlook and Gmail ignore most of <style>; a 600 px column
that shrinks on phones; colours that keep their contrast when a mail program darkens the page
(`color-scheme`); the footer with the 【签名】 signature and the unsubscribe link every marketing email
needs. The words are Jinja (they use {{ contact.first_name }}), so only the text between expressions is
escaped for HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

# A Jinja expression or statement, kept as written; everything between them is text to escape.
_JINJA = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.S)
_FONT = "font-family:-apple-system,'Segoe UI',Roboto,'PingFang SC','Microsoft YaHei',Arial,sans-serif"
_TABLE = 'role="presentation" width="100%" cellpadding="0" cellspacing="0"'
_CARD = "max-width:600px;background:#ffffff;border-radius:8px;"
_HEADING = f"padding:32px 32px 8px;{_FONT};font-size:24px;font-weight:bold;color:#9f1239;"
_FOOTER = f"max-width:600px;margin:16px auto 0;{_FONT};font-size:12px;line-height:1.5;color:#52525b;"
_FOOTER_LINK = "color:#52525b;text-decoration:underline;"

FOOTER = {
    "en": ("You receive this email because you are our customer.", "Unsubscribe"),
    "zh_CN": ("您收到此邮件，是因为您是我们的客户。", "退订"),
}


def escape_text(source: str) -> str:
    """HTML-escape the text of `source` but not its Jinja expressions (the HTML part escapes their values)."""
    return "".join(part if _JINJA.fullmatch(part) else escape(part, quote=False) for part in _JINJA.split(source))


def email_html(*, language: str, subject: str, heading: str, paragraphs: Sequence[str], signature: str) -> str:
    footer, unsubscribe = FOOTER[language]
    lang = "zh-CN" if language == "zh_CN" else "en"
    body = "\n".join(
        f'<p style="margin:0 0 16px;{_FONT};font-size:16px;line-height:1.6;color:#27272a;">{escape_text(p)}</p>'
        for p in paragraphs)
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{escape_text(subject)}</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f5;">
<table {_TABLE} style="background:#f4f4f5;">
<tr><td align="center" style="padding:24px 12px;">
<table {_TABLE} style="{_CARD}">
<tr><td style="{_HEADING}">{escape_text(heading)}</td></tr>
<tr><td style="padding:8px 32px 8px;">
{body}
</td></tr>
<tr><td style="padding:0 32px 32px;{_FONT};font-size:16px;color:#27272a;">{escape_text(signature)}</td></tr>
</table>
<p style="{_FOOTER}">{escape_text(footer)}
<a href="{{{{ unsubscribe_url }}}}" style="{_FOOTER_LINK}">{escape_text(unsubscribe)}</a></p>
</td></tr>
</table>
</body>
</html>
"""


def email_text(*, language: str, heading: str, paragraphs: Sequence[str], signature: str) -> str:
    footer, unsubscribe = FOOTER[language]
    return "\n\n".join([heading, *paragraphs, signature, f"{footer}\n{unsubscribe}: {{{{ unsubscribe_url }}}}"]) + "\n"
