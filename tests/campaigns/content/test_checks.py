"""The pre-send checks: each finds what it is named for, says where and offers the fix; a clean message passes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.content.checks import (
    CheckSettings,
    check_email,
    check_sms,
    forcing_characters,
    passes,
    replace_forcing,
)
from campaigns.content.checks.links import link_problem
from campaigns.content.checks.size import GMAIL_CLIP_BYTES, check_size
from campaigns.content.checks.spam import check_spam, shouting
from campaigns.content.checks.subject import check_subject
from channels import count_sms

SETTINGS = CheckSettings(stop_keywords=("STOP", "TD", "退订"), sms_price=Decimal("0.05"), currency="CNY")
GOOD_HTML = ('<p>Hello Alex, our autumn menu is here: <a href="https://shop.example.com/menu">see it</a>.</p>'
             '<img src="https://shop.example.com/cup.png" alt="A cup of tea">'
             '<p><a href="https://herald.example.com/u/preview">Unsubscribe</a></p>')
GOOD_SOURCE = GOOD_HTML.replace("https://herald.example.com/u/preview", "{{ unsubscribe_url }}")


def email(subject="Our autumn menu is here", html=GOOD_HTML, text="", source_html=GOOD_SOURCE):
    return check_email(subject=subject, html=html, text=text, source_html=source_html, source_text="")


def sms(body, *, shortened=False, short_length=0):
    return check_sms(body=body, as_sent=body, size=count_sms(body), shortened=shortened, short_length=short_length,
                     settings=SETTINGS)


def codes(findings):
    return [f.code for f in findings]


def test_a_clean_email_passes():
    assert email() == []


@pytest.mark.parametrize(("href", "code"), [
    ("", "link_empty"), ("#", "link_empty"), ("  ", "link_empty"),
    ("javascript:alert(1)", "link_script"), ("JavaScript:void(0)", "link_script"), ("data:text/html,x", "link_script"),
    ("http://localhost:5000/u/1", "link_local"), ("http://127.0.0.1/x", "link_local"),
    ("https://192.168.1.5/", "link_local"),
    ("http://[::1]/x", "link_local"), ("https://shop.local/x", "link_local"),
    ("/shop", "link_relative"), ("shop.example.com", "link_relative"),
    ("https://shop.example.com/x", None), ("mailto:care@example.com", None), ("tel:+8613800138000", None),
])  # fmt: skip
def test_links_a_recipient_cannot_follow_are_named(href, code):
    problem = link_problem(href)
    assert (problem[0] if problem else None) == code


def test_every_unreachable_link_of_an_email_is_an_error_naming_it():
    html = GOOD_HTML + '<a href="">a</a><a href="javascript:go()">b</a><a href="http://localhost:5000/x">c</a>'
    found = email(html=html, text="Visit http://127.0.0.1:8000/x")
    assert codes(found) == ["link_empty", "link_script", "link_local", "link_local"]
    assert all(f.level == "error" for f in found)
    assert "http://localhost:5000/x" in found[2].message and found[3].values["part"] == "text"
    assert not passes(found)


def test_an_email_without_the_unsubscribe_link_images_without_alt_and_an_anchor_without_href():
    html = ('<a name="top"></a><p>Hi</p><img src="https://x.example/a.png">'
            '<img src="https://x.example/pixel.gif" width="1" height="1">')
    found = email(html=html, source_html=html)
    assert codes(found) == ["email_no_unsubscribe", "image_no_alt"]
    assert found[1].values == {"image": "https://x.example/a.png"}


def test_an_email_over_gmails_clipping_limit_is_an_error_and_near_it_a_warning():
    assert check_size("x" * 1000) == []
    near = check_size("x" * int(GMAIL_CLIP_BYTES * 0.9))
    assert codes(near) == ["size_near_clip"] and near[0].level == "warning"
    # Chinese is three bytes a character in UTF-8: 35,000 characters are 105,000 bytes.
    clipped = check_size("好" * 35_000)
    assert codes(clipped) == ["size_clipped"] and clipped[0].values["bytes"] == 105_000


def test_the_subject_must_be_there_and_short_enough_counting_chinese_as_two_columns():
    assert codes(check_subject("")) == ["subject_empty"]
    assert check_subject("a" * 60) == []
    assert codes(check_subject("a" * 61)) == ["subject_long"]
    assert check_subject("中" * 30) == [] and codes(check_subject("中" * 31)) == ["subject_long"]


def test_spam_triggers_are_found_in_subject_and_text():
    assert shouting("FREE SHIPPING TODAY") and not shouting("20% OFF for VIP members") and not shouting("HELLO")
    assert codes(check_spam(subject="BIG SALE TODAY ONLY")) == ["spam_caps"]
    assert codes(check_spam(subject="Sale!!!")) == ["spam_exclamations"]
    assert codes(check_spam(subject="Sale! Now! Go!")) == ["spam_exclamations"]
    assert codes(check_spam(subject="Sale!", text="Great news！！！")) == ["spam_exclamations"]
    found = check_spam(subject="Get free money", text="恭喜您中奖了")
    assert codes(found) == ["spam_phrases"] and found[0].values["phrases"] == "free money, 中奖"
    assert check_spam(subject="Our autumn menu is here!", text="Come and taste it.") == []


def test_smart_quotes_and_dashes_that_force_ucs2_are_named_with_position_and_replacement():
    body = "Hi Alex, it’s our sale – 20% off today… Reply STOP to opt out"
    forcing = forcing_characters(body)
    assert [(f.character, f.position, f.replacement) for f in forcing] == [("’", 12, "'"), ("–", 24, "-"),
                                                                           ("…", 39, "...")]
    assert forcing[0].name == "RIGHT SINGLE QUOTATION MARK (U+2019)"
    assert replace_forcing(body) == "Hi Alex, it's our sale - 20% off today... Reply STOP to opt out"
    found = sms(body)
    gsm = next(f for f in found if f.code == "gsm7_forced_ucs2")
    assert gsm.level == "warning" and gsm.values["replacements"] == {"’": "'", "–": "-", "…": "..."}
    assert "at character 12" in gsm.message


def test_full_width_punctuation_in_an_english_sms_is_offered_its_ascii_form():
    assert [(f.character, f.replacement) for f in forcing_characters("Hello，world！")] == [("，", ","), ("！", "!")]


def test_a_long_english_sms_saves_a_segment_once_its_quotes_are_replaced():
    body = "Dear Alex, it’s member day " + "x" * 60 + " Reply STOP to opt out"
    gsm = next(f for f in sms(body) if f.code == "gsm7_forced_ucs2")
    assert (gsm.values["segments"], gsm.values["segments_replaced"]) == (2, 1)


def test_chinese_text_is_ucs2_on_purpose_so_its_punctuation_is_not_flagged():
    assert forcing_characters("【赫拉德】李雷，中秋快乐！回复TD退订") == []
    assert "gsm7_forced_ucs2" not in codes(sms("【赫拉德】李雷，中秋快乐！回复TD退订"))


def test_an_sms_gets_its_segments_and_cost_and_a_warning_from_four_segments():
    found = sms("Hi Alex, our autumn menu is here. Reply STOP to opt out")
    assert codes(found) == ["sms_segments"] and found[0].level == "note"
    assert found[0].values["cost"] == "0.05" and found[0].values["segments"] == 1
    long = sms("中" * 250 + "回复TD退订")
    size = next(f for f in long if f.code == "sms_segments")
    assert size.level == "warning" and size.values["segments"] == 4 and size.values["cost"] == "0.2"


def test_an_sms_without_opt_out_wording_is_warned_and_an_empty_one_is_an_error():
    assert codes(sms("Hi Alex, our menu is here")) == ["sms_no_opt_out", "sms_segments"]
    assert "sms_empty" in codes(sms(""))


def test_long_links_in_an_sms_are_warned_unless_they_will_be_shortened():
    body = "Menu: https://shop.example.com/autumn/menu?utm_source=sms&utm_medium=text Reply STOP"
    long = next(f for f in sms(body) if f.check == "short_links")
    assert long.code == "sms_links_long" and long.values["length"] == 67
    short = next(f for f in sms(body, shortened=True, short_length=31) if f.check == "short_links")
    assert short.code == "sms_links_shortened" and short.level == "note" and short.values["length"] == 31
    assert not [f for f in sms("See https://x.example/a Reply STOP") if f.check == "short_links"]


def test_a_link_to_localhost_in_an_sms_is_an_error():
    assert "link_local" in codes(sms("Open http://localhost:5000/x Reply STOP"))
