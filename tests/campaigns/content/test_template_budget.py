"""Templates cannot stall Herald: the SSTI and resource-limit corpus against rendering and send
(tests/web/test_api_template_budget.py runs it against preview and save).

Each source below cost seconds of CPU or hundreds of MB (or never ended) before the budget existed
(campaigns/content/budget.py); each must now be refused quickly with a reason that names the limit.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from sqlalchemy import update

from campaigns import create_campaign, create_template, estimate_campaign
from campaigns.content.rendering import RenderFailed, compile_part, render_part, template_context
from campaigns.models import Campaign, Template
from core.config import load_config
from tests.campaigns.factories import make_contact, make_dispatcher, messages_of, start_campaign

# (template source, words the refusal must contain)
CORPUS = [
    ("{% set b = 7 %}{{ (b ** 4000000) > 1 }}", "digits"),
    ("{% set ns = namespace(b=3) %}{% for i in range(40) %}{% set ns.b = ns.b * ns.b %}{% endfor %}{{ ns.b > 1 }}",
     "digits"),
    ("{{ ('x' * 100000000)|length }}", "1,000,000 characters"),
    ("{{ (['x'] * 100000000)|length }}", "1,000,000 characters"),
    ("{% set ns = namespace(s='x' * 1000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}x",
     "1,000,000 characters"),
    ("{% set ns = namespace(s='x' * 1000) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}x",
     "1,000,000 characters"),
    ("{% for a in range(100000000) %}{% endfor %}", "range() of 100,000,000 numbers"),
    ("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}x", "longer than 1 s"),
    ("{{ '%100000000s' % 'x' }}", "width of 100,000,000"),
    ("{{ '%*s' % (100000000, 'x') }}", "* width"),
    ("{{ '{:>100000000}'.format(1) }}", "width of 100,000,000"),
    ("{{ 'x'.ljust(100000000) }}", "width of 100,000,000"),
    ("{{ 'x'|center(100000000) }}", "width of 100,000,000"),
    ("{{ '%100000000s'|format('x') }}", "width of 100,000,000"),
    ("{{ ('x' * 100000).replace('x', 'x' * 100000) }}", "1,000,000 characters"),
    ("{{ ('ab' * 500000)|join('x' * 1000) }}", "1,000,000 characters"),
    ("{{ ['x' * 100000] * 100000 }}", "1,000,000 characters"),
    ("{{ [1]|batch(100000000, 'x')|list }}", "100,000,000"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "nested too deeply"),
    ("{{ range }}", "is a function"),  # its repr shows a process memory address
    ("{{ contact.attributes.items }}", "is a function"),
]
TRACKING = load_config("/dev/null", {}).tracking
QUICK_SECONDS = 3.0  # the slowest refusal (the time budget) takes 1 s; before the fix these took far longer


def _render(source: str) -> str:
    context = template_context({"first_name": "Ann", "attributes": {}}, campaign_name="c", unsubscribe_url="u")
    return render_part("body", compile_part("body", source), context)


@pytest.mark.parametrize(("source", "reason"), CORPUS)
def test_a_render_over_budget_fails_quickly_with_the_limit_named(source, reason):
    started = time.monotonic()
    with pytest.raises(RenderFailed) as caught:
        _render(source)
    assert time.monotonic() - started < QUICK_SECONDS
    assert reason in caught.value.reason
    assert caught.value.field == "body"


def test_ordinary_template_work_is_untouched():
    source = ("Hi {{ contact.first_name }}! {{ '%05.2f'|format(3.14159) }} {{ '{:,}'.format(1234567) }} "
              "{% for i in range(3) %}{{ i }}{% endfor %} {{ 2 ** 10 }} {{ 'ab' ~ 'cd' }} {{ '-' * 3 }} "
              "{{ ['a', 'b']|join(', ') }} {{ 'x'|center(5) }}|")
    assert _render(source) == "Hi Ann! 03.14 1,234,567 012 1024 abcd --- a, b   x  |"


@pytest.mark.parametrize(("source", "reason"), [CORPUS[0], CORPUS[2], CORPUS[7], CORPUS[18]])
def test_a_stored_template_over_budget_fails_each_message_and_the_sender_goes_on(
        backend, session, database, clock, channel, source, reason):
    # Saved before the budget existed (or edited in SQL): the sender meets it at render time.
    contacts = [make_contact(session, now=clock.now()) for _ in range(2)]
    campaign, run = start_campaign(session, now=clock.now(), body="Hi")
    template_id = session.get(Campaign, campaign.id).template_id
    session.execute(update(Template).where(Template.id == template_id).values(body=source))
    session.commit()
    started = time.monotonic()
    make_dispatcher(database, channel, clock).dispatch_due()
    assert time.monotonic() - started < QUICK_SECONDS * len(contacts)
    messages = messages_of(session, run.id)
    assert [m.status for m in messages] == ["failed"] * len(contacts)
    assert all(m.error_code == "template" and reason in m.error_reason for m in messages)
    assert channel.sent == []


def test_a_data_dependent_loop_fails_only_that_contacts_message(backend, session, database, clock, channel):
    make_contact(session, now=clock.now(), n="3")
    heavy = make_contact(session, now=clock.now(), n="10000")
    make_contact(session, now=clock.now(), n="2")
    body = "{% for a in range(contact.n|int) %}{% for b in range(contact.n|int) %}{% endfor %}{% endfor %}ok"
    template = create_template(session, name="Loops", channel="sms", body=body, now=clock.now())
    assert template.id  # saved: the sample contact has no n, so its loops are empty
    _, run = start_campaign(session, now=clock.now(), body=body)
    make_dispatcher(database, channel, clock).dispatch_due()
    by_contact = {m.contact_id: m for m in messages_of(session, run.id)}
    assert by_contact[heavy.id].status == "failed"
    assert "longer than 1 s" in by_contact[heavy.id].error_reason
    assert sorted(m.status for m in by_contact.values()) == ["failed", "sent", "sent"]
    assert [m.body for m in channel.sent] == ["ok", "ok"]


def test_an_estimate_stops_rendering_a_template_over_budget_after_the_first_contact(backend, session, clock):
    # One second per sample contact would hold the estimate page for twenty.
    for _ in range(5):
        make_contact(session, now=clock.now(), n="10000")
    body = "{% for a in range(contact.n|int) %}{% for b in range(contact.n|int) %}{% endfor %}{% endfor %}ok"
    template = create_template(session, name="Loops", channel="sms", body=body, now=clock.now())
    campaign = create_campaign(session, name="Loops", channel="sms", template_id=template.id, now=clock.now())
    started = time.monotonic()
    estimate = estimate_campaign(session, campaign.id, now=clock.now(), price=Decimal("0.05"), currency="USD",
                                 rate="10/second", tracking=TRACKING, base_url="https://herald.example.com")
    assert time.monotonic() - started < 2.5
    assert estimate.sample_size == 5
