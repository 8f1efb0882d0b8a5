"""Template checks when saving, sandboxing, rendering per message, and HTML -> text."""

from __future__ import annotations

import pytest

from campaigns import TemplateInvalid, create_template, html_to_text, update_template, validate_template
from campaigns.content.rendering import RenderFailed, compile_part, render_part, template_context
from tests.campaigns.factories import make_contact


def test_a_syntax_error_names_the_part_the_line_and_jinjas_words(session, clock):
    with pytest.raises(TemplateInvalid) as caught:
        create_template(session, name="Broken", channel="email", subject="Hi",
                        html="<p>one</p>\n<p>two</p>\n<p>{% if contact.first_name %}open</p>", now=clock.now())
    error = caught.value
    assert (error.field, error.line) == ("html", 3)
    assert error.message.startswith("html line 3: ")
    assert "endif" in error.message  # Jinja's own explanation of what is missing


def test_an_undefined_contact_field_is_named_with_its_part_line_and_the_known_fields(session, clock):
    make_contact(session, now=clock.now(), tier="A", city="Beijing")
    with pytest.raises(TemplateInvalid) as caught:
        validate_template(session, channel="email", subject="Hello",
                          html="<h1>Hi</h1>\n<p>\n{{ contact.frist_name }}</p>")
    error = caught.value
    assert (error.field, error.line) == ("html", 3)
    assert '"contact.frist_name" is not defined' in error.message
    assert "first_name" in error.message
    assert "custom attributes such as city, tier" in error.message


def test_an_unknown_top_level_name_is_named(session):
    with pytest.raises(TemplateInvalid) as caught:
        validate_template(session, channel="sms", body="Hi {{ first_name }}")
    assert (caught.value.field, caught.value.line) == ("body", 1)
    assert '"first_name" is not defined' in caught.value.message
    assert "contact.first_name" in caught.value.message  # points at the fix


def test_an_unknown_name_inside_a_branch_no_sample_would_take_is_still_caught(session):
    with pytest.raises(TemplateInvalid, match="contact.nickname"):
        validate_template(session, channel="sms", body="{% if false %}{{ contact.nickname }}{% endif %}ok")


def test_a_custom_attribute_is_accepted_once_a_recent_contact_has_it(session, clock):
    with pytest.raises(TemplateInvalid, match="no contact has custom attributes yet"):
        validate_template(session, channel="sms", body="{{ contact.tier }}")
    make_contact(session, now=clock.now(), tier="B")
    validate_template(session, channel="sms", body="{{ contact.tier }}")


def test_a_name_with_a_default_or_a_defined_test_is_accepted_even_if_no_contact_has_it(session):
    validate_template(session, channel="sms",
                      body='{{ contact.nickname | default("friend") }}{% if contact.vip is defined %}VIP{% endif %}')


def test_contact_fields_campaign_and_unsubscribe_url_are_all_known(session):
    validate_template(session, channel="email", subject="{{ campaign.name }} for {{ contact.name }}",
                      html='<a href="{{ unsubscribe_url }}">x</a>{{ contact.attributes.anything }}',
                      text="{{ contact.email }} {{ contact['phone'] }} {% for i in range(2) %}{{ i }}{% endfor %}")


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ contact.__class__ }}",
    "{{ cycler.mro() }}",  # no underscore, but the sandbox refuses a type's mro
])
def test_the_sandbox_keeps_templates_away_from_python(session, source):
    with pytest.raises(TemplateInvalid) as caught:
        validate_template(session, channel="sms", body=source)
    assert caught.value.field == "body"
    assert caught.value.line == 1


def test_the_sandbox_also_holds_at_render_time_for_a_template_that_skipped_validation():
    template = compile_part("body", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(RenderFailed, match="body line 1"):
        render_part("body", template, template_context({}, campaign_name="c", unsubscribe_url="u"))


def test_email_needs_a_subject_and_html_or_text_and_sms_needs_a_body(session, clock):
    with pytest.raises(TemplateInvalid) as no_subject:
        create_template(session, name="E", channel="email", html="<p>x</p>", now=clock.now())
    assert no_subject.value.field == "subject"
    with pytest.raises(TemplateInvalid) as no_content:
        create_template(session, name="E", channel="email", subject="S", now=clock.now())
    assert no_content.value.field == "html"
    with pytest.raises(TemplateInvalid) as no_body:
        create_template(session, name="S", channel="sms", body="  ", now=clock.now())
    assert no_body.value.field == "body"
    create_template(session, name="E", channel="email", subject="S", text="only text", now=clock.now())


def test_html_is_autoescaped_but_subject_and_text_are_not():
    context = template_context({"first_name": "<b>Tom & Jerry</b>"}, campaign_name="c", unsubscribe_url="u")
    assert render_part("html", compile_part("html", "{{ contact.first_name }}"), context) == \
        "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"
    assert render_part("subject", compile_part("subject", "{{ contact.first_name }}"), context) == \
        "<b>Tom & Jerry</b>"


def test_a_missing_custom_attribute_renders_empty_or_its_default_at_send_time():
    template = compile_part("body", 'Hi {{ contact.tier }}|{{ contact.tier | default("friend") }}')
    context = template_context({"first_name": "Ann"}, campaign_name="c", unsubscribe_url="u")
    assert render_part("body", template, context) == "Hi |friend"


def test_a_render_error_says_which_part_and_line():
    template = compile_part("text", "line one\n{{ contact.points + 10 }}")
    context = template_context({"points": "many"}, campaign_name="c", unsubscribe_url="u")
    with pytest.raises(RenderFailed) as caught:
        render_part("text", template, context)
    assert caught.value.reason.startswith("text line 2: ")
    assert (caught.value.field, caught.value.line) == ("text", 2)


def test_update_checks_the_merged_template_and_keeps_the_old_one_on_error(session, clock):
    template = create_template(session, name="S", channel="sms", body="Hi", now=clock.now())
    with pytest.raises(TemplateInvalid):
        update_template(session, template.id, body="{{ oops", now=clock.now())
    session.refresh(template)
    assert template.body == "Hi"
    updated = update_template(session, template.id, name="Renamed", now=clock.advance(minutes=1))
    assert (updated.name, updated.body, updated.updated_at) == ("Renamed", "Hi", clock.now())


def test_html_to_text_drops_tags_scripts_and_styles_and_keeps_links():
    html = """<html><head><title>T</title><style>p { color: red }</style></head>
    <body><h1>Hello   Ann!</h1><script>alert(1)</script>
    <p>As a member you get <strong>20%&nbsp;off</strong>.</p>
    <p><a href="https://example.com/offer">See the offer</a> or <a href="https://example.com">https://example.com</a></p>
    <ul><li>one</li><li>two</li></ul></body></html>"""
    assert html_to_text(html) == (
        "Hello Ann!\n\n"
        "As a member you get 20% off.\n\n"
        "See the offer (https://example.com/offer) or https://example.com\n\n"
        "- one\n- two"
    )
