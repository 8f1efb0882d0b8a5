"""The template gallery: every ready template renders for a demo contact in English and 简体中文 and passes the
pre-send checks; a company saves its own templates to it; a gallery template is copied into one's templates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from audiences import make_demo_contacts
from audiences.models import Contact
from campaigns.content.checks import CheckSettings, passes
from campaigns.content.gallery import (
    LANGUAGES,
    copy_to_templates,
    delete_saved,
    gallery_entries,
    get_entry,
    ready_entries,
    save_to_gallery,
    with_signature,
)
from campaigns.content.templates import create_template, preview_template
from channels import SIGNATURE_PLACEHOLDER
from core.errors import NotFound

BASE_URL = "https://herald.example.com"
HOLIDAYS = {"spring_festival", "lantern_festival", "dragon_boat", "mid_autumn", "national_day", "christmas", "new_year"}
OCCASIONS = HOLIDAYS | {"birthday", "member_day", "welcome", "win_back", "event_invitation", "event_reminder",
                        "event_day_of", "order_confirmation"}
# The signature a marketer writes over 【签名】: Chinese texts carry 【公司名】, English ones plain GSM-7 text.
SIGNATURES = {"zh_CN": "【赫拉德咖啡】", "en": "Herald Coffee"}
SETTINGS = CheckSettings(stop_keywords=("STOP", "TD", "退订"), sms_price=Decimal("0.05"), currency="CNY")


def test_every_occasion_is_in_both_languages_as_sms_and_email_with_the_signature_placeholder():
    entries = ready_entries()
    assert {e.key for e in entries} == OCCASIONS
    assert {(e.key, e.language, e.channel) for e in entries} == {
        (key, language, channel) for key in OCCASIONS for language in LANGUAGES for channel in ("sms", "email")}
    for entry in entries:
        assert any(SIGNATURE_PLACEHOLDER in part for part in entry.parts.values()), (entry.key, entry.language)


@pytest.fixture
def demo_contacts(session, clock) -> dict[str, int]:
    """One demo contact per language, from the demo data a first look uses (audiences/demo.py)."""
    make_demo_contacts(session, count=4, seed=7, now=clock.now())
    contacts = session.scalars(select(Contact).order_by(Contact.id)).all()
    return {"zh_CN": next(c.id for c in contacts if c.locale == "zh_CN"),
            "en": next(c.id for c in contacts if c.locale == "en")}


@pytest.mark.parametrize("entry", ready_entries(), ids=lambda e: f"{e.key}-{e.language}-{e.channel}")
def test_each_ready_template_renders_for_a_demo_contact_and_passes_the_checks(session, demo_contacts, entry):
    contact_id = demo_contacts[entry.language]
    contact = session.get(Contact, contact_id)
    preview = preview_template(session, channel=entry.channel, contact_id=contact_id, base_url=BASE_URL,
                               campaign_name="Autumn tasting", checks=SETTINGS,
                               **with_signature(entry, SIGNATURES[entry.language]))
    shown = preview.body if entry.channel == "sms" else preview.html + preview.text + preview.subject
    assert "{{" not in shown and SIGNATURE_PLACEHOLDER not in shown
    assert SIGNATURES[entry.language] in (preview.body or preview.text)
    greeted = contact.first_name if entry.language == "en" else contact.as_template_context()["name"]
    assert greeted in shown, (greeted, shown[:200])
    if entry.channel == "email":
        assert f"{BASE_URL}/u/preview" in preview.html and f"{BASE_URL}/u/preview" in preview.text
    assert passes(preview.checks), [f.message for f in preview.checks if f.level != "note"]


def test_a_holiday_greeting_in_chinese_reads_as_written_for_a_chinese_contact(session, demo_contacts):
    entry = get_entry(session, "mid_autumn", language="zh_CN", channel="sms")
    contact = session.get(Contact, demo_contacts["zh_CN"])
    preview = preview_template(session, channel="sms", contact_id=contact.id, base_url=BASE_URL,
                               **with_signature(entry, "【赫拉德咖啡】"))
    name = contact.as_template_context()["name"]
    assert preview.body == f"【赫拉德咖啡】{name}，中秋快乐！月圆人团圆，祝您和家人幸福安康、花好月圆。回复TD退订"
    assert preview.sms.encoding == "UCS-2"


def test_left_unsigned_the_placeholder_is_a_warning_unless_the_channel_signs(session, demo_contacts):
    entry = get_entry(session, "birthday", language="zh_CN", channel="sms")
    unsigned = preview_template(session, channel="sms", contact_id=demo_contacts["zh_CN"], base_url=BASE_URL,
                                checks=SETTINGS, body=entry.body)
    assert "signature_placeholder" in {f.code for f in unsigned.checks}
    signed = preview_template(session, channel="sms", contact_id=demo_contacts["zh_CN"], base_url=BASE_URL,
                              checks=SETTINGS, body=entry.body,
                              as_sent=lambda text: text.replace(SIGNATURE_PLACEHOLDER, "【赫拉德】"))
    assert "signature_placeholder" not in {f.code for f in signed.checks}
    assert signed.sms.characters == unsigned.sms.characters + 1  # counted as sent: 【赫拉德】 is one longer


def test_a_gallery_template_is_copied_into_the_templates_with_the_signature(session, clock):
    entry = get_entry(session, "welcome", language="en", channel="email")
    template = copy_to_templates(session, entry, name="", signature="Herald Coffee", now=clock.now())
    assert template.name == "New customer welcome" and template.channel == "email"
    assert "Herald Coffee" in template.html and SIGNATURE_PLACEHOLDER not in template.html + template.text
    kept = copy_to_templates(session, get_entry(session, "welcome", language="zh_CN", channel="sms"),
                             name="欢迎短信", signature="", now=clock.now())
    assert kept.body.startswith(SIGNATURE_PLACEHOLDER)  # for an SMS channel that signs its texts


def test_a_company_saves_its_own_template_to_the_gallery_and_removes_it(session, clock):
    mine = create_template(session, name="VIP tea evening", channel="sms", now=clock.now(),
                           body="【赫拉德】{{ contact.name }}，VIP品茶会本周六举行，欢迎光临。回复TD退订")
    saved = save_to_gallery(session, mine.id, title="VIP 品茶会", language="zh_CN", now=clock.now())
    entries = gallery_entries(session, language="zh_CN", channel="sms")
    assert entries[-1].key == f"saved-{saved.id}" and entries[-1].title == "VIP 品茶会"
    assert get_entry(session, f"saved-{saved.id}", language="zh_CN", channel="sms").body == mine.body
    assert gallery_entries(session, language="en", channel="sms")[-1].saved_id is None
    delete_saved(session, saved.id)
    with pytest.raises(NotFound, match=f"saved-{saved.id}"):
        get_entry(session, f"saved-{saved.id}", language="zh_CN", channel="sms")


def test_an_unknown_gallery_entry_is_not_found_by_name(session):
    with pytest.raises(NotFound, match='"labour_day" in en'):
        get_entry(session, "labour_day", language="en", channel="sms")
