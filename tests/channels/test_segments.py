"""SMS segment counting per GSM 03.38: what the marketer sees in the editor is what the carrier bills."""

from __future__ import annotations

import pytest

from channels import SmsSize, count_sms

BIRTHDAY_SMS = "【公司名】尊敬的会员，您的生日礼券已到账，凭此短信到店可享八折优惠，有效期至月底。回T退订"

CASES = [
    # (label, text, segments, encoding, characters, per_segment, remaining)
    ("empty", "", 0, "GSM-7", 0, 160, 160),
    ("one GSM char", "a", 1, "GSM-7", 1, 160, 159),
    ("exactly one GSM segment", "a" * 160, 1, "GSM-7", 160, 160, 0),
    ("one over a GSM segment", "a" * 161, 2, "GSM-7", 161, 153, 145),
    ("two full GSM parts", "a" * 306, 2, "GSM-7", 306, 153, 0),
    ("three GSM parts", "a" * 307, 3, "GSM-7", 307, 153, 152),
    ("GSM accents stay GSM", "Café Ñandù à Zürich §¿¡", 1, "GSM-7", 23, 160, 137),
    ("u-acute is not in GSM-7, so UCS-2", "Café Ñandú", 1, "UCS-2", 10, 70, 60),
    ("euro counts two", "€", 1, "GSM-7", 2, 160, 158),
    ("every extension char counts two", "^{}\\[~]|€\f", 1, "GSM-7", 20, 160, 140),
    ("80 euros fill one segment", "€" * 80, 1, "GSM-7", 160, 160, 0),
    ("escape pair is not split at a part boundary", "a" * 152 + "€" + "a" * 10, 2, "GSM-7", 164, 153, 141),
    ("81 euros: 76 fit the first part, not 76.5", "€" * 81, 2, "GSM-7", 162, 153, 143),
    ("newline and CR are GSM", "line1\r\nline2", 1, "GSM-7", 12, 160, 148),
    ("Chinese is UCS-2", "你好", 1, "UCS-2", 2, 70, 68),
    ("company-name brackets are UCS-2", "【公司名】", 1, "UCS-2", 5, 70, 65),
    ("one Chinese char turns a GSM text into UCS-2", "Hello 世界", 1, "UCS-2", 8, 70, 62),
    ("exactly one UCS-2 segment", "你" * 70, 1, "UCS-2", 70, 70, 0),
    ("one over a UCS-2 segment", "你" * 71, 2, "UCS-2", 71, 67, 63),
    ("typical Chinese marketing SMS", BIRTHDAY_SMS, 1, "UCS-2", 45, 70, 25),
    ("curly quote forces UCS-2", "it’s", 1, "UCS-2", 4, 70, 66),
    ("emoji counts two UTF-16 units", "🎉", 1, "UCS-2", 2, 70, 68),
    ("35 emoji fill one segment", "🎉" * 35, 1, "UCS-2", 70, 70, 0),
    ("surrogate pair is not split at a part boundary", "a" * 66 + "🎉" + "b" * 5, 2, "UCS-2", 73, 67, 60),
    ("lone ESC is not a GSM character", "\x1b", 1, "UCS-2", 1, 70, 69),
    # Real messages: plain ASCII, extension characters in a sentence, Chinese with a signature and an emoji.
    ("plain ASCII notice", "Your order #1234 has shipped. Track it at https://example.com/t/abc?x=1 - reply STOP to "
     "opt out.", 1, "GSM-7", 96, 160, 64),
    ("{ } and € in a sentence count two each", "Sale: 20% off {today} only, €5 voucher inside", 1, "GSM-7", 48, 160,
     112),
    ("one euro tips 159 letters into two parts", "a" * 159 + "€", 2, "GSM-7", 161, 153, 145),
    ("one euro after 158 letters still fits", "a" * 158 + "€", 1, "GSM-7", 160, 160, 0),
    ("160 braces: 76 per part, three parts", "{}" * 80, 3, "GSM-7", 320, 153, 137),
    ("signed Chinese SMS with an emoji", "【花店】亲爱的会员，您的积分已到账🎉 回T退订", 1, "UCS-2", 24, 70, 46),
    ("mixed Latin, Chinese and emoji", "Hi Ann, 你好 🎉", 1, "UCS-2", 13, 70, 57),
    ("34 emoji and a letter fit one segment", "🎉" * 34 + "a", 1, "UCS-2", 69, 70, 1),
    ("a ZWJ family emoji is 8 UTF-16 units", "👨\u200d👩\u200d👧", 1, "UCS-2", 8, 70, 62),
]


@pytest.mark.parametrize(("label", "text", "segments", "encoding", "characters", "per_segment", "remaining"),
                         CASES, ids=[c[0] for c in CASES])
def test_count_sms_follows_gsm_03_38(label, text, segments, encoding, characters, per_segment, remaining):
    assert count_sms(text) == SmsSize(segments, encoding, characters, per_segment, remaining)


def test_long_chinese_text_splits_into_67_unit_parts():
    size = count_sms("优" * 67 * 3)
    assert (size.segments, size.per_segment, size.remaining) == (3, 67, 0)
    assert count_sms("优" * (67 * 3 + 1)).segments == 4


def test_sms_size_serialises_for_the_editor():
    assert count_sms("Hi").to_dict() == {"segments": 1, "encoding": "GSM-7", "characters": 2, "per_segment": 160,
                                         "remaining": 158}
