"""The global suppression list: normalised addresses, reported rejects, and no campaign passes it
unless it is operational."""

from __future__ import annotations

from sqlalchemy import select

from audiences import (
    add_suppressions,
    audience_select,
    create_contact,
    is_suppressed,
    list_suppressions,
    remove_suppression,
    split_addresses,
)


def test_addresses_are_normalised_deduplicated_and_bad_ones_reported(backend, session, clock):
    pasted = "email\nAnn@Example.com, ann@example.com;(201) 555-0101\nnot-an-address@\n+12015550101"
    report = add_suppressions(session, split_addresses(pasted), reason="legal request", source="settings",
                              default_region="US", now=clock.now())
    assert (report.added, report.already) == (2, 0)
    assert len(report.rejected) == 1 and '"not-an-address@" is not a valid email address' in report.rejected[0]
    page = list_suppressions(session)
    assert sorted((s.channel, s.address) for s in page.items) == [("email", "ann@example.com"),
                                                                    ("sms", "+12015550101")]
    again = add_suppressions(session, ["ANN@example.com"], channel="email", default_region="US", now=clock.now())
    assert (again.added, again.already) == (0, 1)
    assert is_suppressed(session, "email", "ann@example.com")

    removed = remove_suppression(session, page.items[0].id)
    assert not is_suppressed(session, removed.channel, removed.address)


def test_audience_marks_listed_addresses_unless_operational(backend, session, clock):
    now = clock.now()
    ann = create_contact(session, default_region="US", now=now, email="ann@example.com", phone="+12015550101").id
    bob = create_contact(session, default_region="US", now=now, email="bob@example.com").id
    add_suppressions(session, ["ann@example.com"], default_region="US", now=now)

    def listed(channel, **kw):
        return {r.contact_id: r.suppressed_listed for r in session.execute(audience_select(None, channel, **kw))}

    assert listed("email") == {ann: 1, bob: 0}
    assert listed("sms") == {ann: 0, bob: 0}  # the list is per channel
    assert listed("email", operational=True) == {ann: 0, bob: 0}
    # The join never repeats a contact.
    assert len(session.execute(select(audience_select(None, "email").subquery())).all()) == 2
