"""Template CRUD and previews for a real contact."""

from __future__ import annotations

import pytest

from campaigns import TemplateInvalid, create_template, get_template, list_templates, preview_template
from core.errors import Invalid, NotFound
from tests.campaigns.factories import make_contact

BASE_URL = "https://herald.example.com"


def test_a_template_is_created_read_and_listed_newest_first(session, clock):
    first = create_template(session, name="First", channel="sms", body="Hi", now=clock.now())
    second = create_template(session, name="Second", channel="email", subject="S", html="<p>x</p>", now=clock.now())
    assert get_template(session, first.id).body == "Hi"
    assert [t.id for t in list_templates(session)] == [second.id, first.id]
    assert [t.id for t in list_templates(session, channel="sms")] == [first.id]


def test_a_missing_template_is_not_found_and_a_bad_channel_is_invalid(session, clock):
    with pytest.raises(NotFound, match="template 99"):
        get_template(session, 99)
    with pytest.raises(Invalid) as caught:
        create_template(session, name="X", channel="fax", body="Hi", now=clock.now())
    assert caught.value.field == "channel"


def test_an_sms_template_cannot_carry_email_parts(session, clock):
    with pytest.raises(Invalid) as caught:
        create_template(session, name="X", channel="sms", body="Hi", subject="Subject", now=clock.now())
    assert caught.value.field == "subject"


def test_an_sms_preview_renders_for_the_contact_and_counts_segments(session, clock):
    make_contact(session, now=clock.now(), first_name="Zed")
    contact = make_contact(session, now=clock.now(), first_name="芳", tier="A")
    preview = preview_template(session, channel="sms", body="{{ contact.first_name }}您好，{{ contact.tier }}级会员8折",
                               contact_id=contact.id, base_url=BASE_URL)
    assert preview.body == "芳您好，A级会员8折"
    assert preview.contact_id == contact.id
    assert (preview.sms.segments, preview.sms.encoding) == (1, "UCS-2")
    long = preview_template(session, channel="sms", body="x" * 161, contact_id=None, base_url=BASE_URL)
    assert (long.sms.segments, long.sms.encoding) == (2, "GSM-7")
    assert long.to_dict()["sms"]["segments"] == 2


def test_a_preview_without_a_contact_id_uses_the_first_contact(session, clock):
    first = make_contact(session, now=clock.now(), first_name="Zed")
    make_contact(session, now=clock.now(), first_name="Amy")
    preview = preview_template(session, channel="sms", body="Hi {{ contact.first_name }}", contact_id=None,
                               base_url=BASE_URL)
    assert (preview.body, preview.contact_id) == ("Hi Zed", first.id)


def test_a_preview_with_no_contacts_at_all_uses_a_placeholder(session):
    preview = preview_template(session, channel="email", subject="Hi {{ contact.first_name }}",
                               html='<p>Hello <a href="{{ unsubscribe_url }}">unsubscribe</a></p>', contact_id=None,
                               base_url=BASE_URL)
    assert preview.contact_id is None
    assert preview.subject == "Hi Alex"
    assert preview.text == f"Hello unsubscribe ({BASE_URL}/u/preview)"  # derived from the HTML
    assert preview.sms is None


def test_a_preview_for_a_missing_contact_is_not_found(session):
    with pytest.raises(NotFound):
        preview_template(session, channel="sms", body="Hi", contact_id=404, base_url=BASE_URL)


def test_a_preview_that_fails_for_this_contact_names_the_part_and_line(session, clock):
    contact = make_contact(session, now=clock.now(), points="many")
    with pytest.raises(TemplateInvalid) as caught:
        preview_template(session, channel="sms", body="Hi\n{{ contact.points + 10 }}", contact_id=contact.id,
                         base_url=BASE_URL)
    assert (caught.value.field, caught.value.line) == ("body", 2)
