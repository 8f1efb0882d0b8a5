"""A marketing message must give a way out (issue 15: warn on save when a marketing SMS has no opt-out wording —
回复TD退订 / Reply STOP — or a marketing email has no unsubscribe link)."""

from __future__ import annotations

import pytest

from campaigns.content.checks import missing_opt_out, opt_out_wording

STOP = ("STOP", "UNSUBSCRIBE", "退订", "TD")


@pytest.mark.parametrize(("body", "has_way_out"), [
    ("【花店】会员日全场8折，回复TD退订", True),
    ("【花店】会员日全场8折，回T退订", True),
    ("Member day: 20% off. Reply STOP to opt out", True),
    ("Member day: 20% off. reply stop to opt out", True),
    ("Member day: 20% off. Manage: {{ unsubscribe_url }}", True),
    ("【花店】会员日全场8折", False),
    ("Nonstop deals all weekend!", False),  # "stop" inside a word is not an instruction
    ("TDK batteries half price", False),
    ("", False),
])
def test_an_sms_tells_the_reader_how_to_stop_or_it_is_flagged(body, has_way_out):
    assert opt_out_wording(body, STOP) is has_way_out
    assert (missing_opt_out("sms", body=body, stop_keywords=STOP) is None) is has_way_out


def test_an_email_needs_the_unsubscribe_link_in_its_html_or_its_text():
    assert missing_opt_out("email", html='<a href="{{ unsubscribe_url }}">Unsubscribe</a>') is None
    assert missing_opt_out("email", html="<p>Hi</p>", text="Leave: {{unsubscribe_url}}") is None
    missing = missing_opt_out("email", html='<a href="https://shop.example/unsubscribe">Unsubscribe</a>')
    assert missing is not None and missing.channel == "email"
