"""Editing one contact: the new fields, owner, tags and important dates; the address rule still holds."""

from __future__ import annotations

from datetime import date

import pytest

from audiences import (
    Contact,
    ContactDate,
    add_contact_date,
    contact_dates,
    contact_tags,
    create_contact,
    remove_contact_date,
    update_contact,
)
from core.errors import Invalid, NotFound
from core.users import create_user


def test_create_with_profile_fields_owner_tags_and_dates(backend, session, clock):
    mia = create_user(session, email="mia@example.com", password="secret-pass-1")
    contact = create_contact(
        session, default_region="CN", now=clock.now(), name="王芳", phone="13800138000", region="北京",
        lifecycle_stage="休眠", value_tier="a类", source="trade fair", notes="Met at the fair.\nCall in May.",
        owner_id=mia.id, tags=["vip", "fair-2026", "vip"],
        dates=[{"kind": "contract_renewal", "date": "2027-03-01", "note": "3-year deal"},
               {"kind": "Company Anniversary", "date": "2015/6/18"}])
    session.expire_all()
    saved = session.get(Contact, contact.id)
    assert (saved.region, saved.lifecycle_stage, saved.value_tier, saved.source, saved.owner_id) == (
        "北京", "dormant", "A", "trade fair", mia.id)
    assert saved.notes == "Met at the fair.\nCall in May."
    assert [t.name for t in contact_tags(session, contact.id)] == ["fair-2026", "vip"]
    assert [(d.kind, d.date, d.note) for d in contact_dates(session, contact.id)] == [
        ("company_anniversary", date(2015, 6, 18), ""), ("contract_renewal", date(2027, 3, 1), "3-year deal")]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"lifecycle_stage": "hot"}, 'lifecycle_stage "hot" is not a lifecycle stage; use one of lead, customer'),
        ({"value_tier": "Z"}, 'value_tier "Z" is not a value tier; use one of A, B, C, D'),
        ({"owner_id": 42}, "owner 42 is not a Herald user"),
        ({"dates": [{"kind": "renewal", "date": "soon"}]}, 'renewal "soon" is not a date'),
        ({"dates": [{"kind": "9x", "date": "2027-01-01"}]}, 'date kind "9x" must be lowercase letters'),
    ],
)
def test_bad_profile_values_are_refused(session, clock, fields, message):
    with pytest.raises(Invalid, match=message):
        create_contact(session, default_region="US", now=clock.now(), email="ann@example.com", **fields)


def test_update_changes_clears_and_keeps_an_address(backend, session, clock):
    contact = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com",
                             phone="+12015550101", company="Acme", value_tier="B", tags=["old"])
    other = create_contact(session, default_region="US", now=clock.now(), email="bob@example.com")
    update_contact(session, contact.id, default_region="US", now=clock.now(),
                   changes={"company": "", "value_tier": None, "lifecycle_stage": "vip", "phone": "",
                            "tags": ["new"], "dates": [{"kind": "membership", "date": "2020-01-01"}]})
    session.expire_all()
    saved = session.get(Contact, contact.id)
    assert (saved.company, saved.value_tier, saved.lifecycle_stage, saved.phone) == ("", None, "vip", None)
    assert [t.name for t in contact_tags(session, contact.id)] == ["new"]
    assert [d.kind for d in contact_dates(session, contact.id)] == ["membership"]

    with pytest.raises(Invalid, match="the contact has neither an email nor a phone"):
        update_contact(session, contact.id, default_region="US", now=clock.now(), changes={"email": ""})
    with pytest.raises(Invalid, match=f'email "bob@example.com" already belongs to contact {other.id}'):
        update_contact(session, contact.id, default_region="US", now=clock.now(),
                       changes={"email": "bob@example.com"})
    with pytest.raises(Invalid, match='"colour" is not a contact field'):
        update_contact(session, contact.id, default_region="US", now=clock.now(), changes={"colour": "red"})
    session.expire_all()
    assert session.get(Contact, contact.id).email == "ann@example.com"


def test_important_dates_are_added_and_removed_one_by_one(backend, session, clock):
    contact = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com")
    row = add_contact_date(session, contact.id, kind="contract_renewal", when="2027-03-01", note="renew")
    assert session.get(ContactDate, row.id).date == date(2027, 3, 1)
    with pytest.raises(NotFound, match=f"contact {contact.id} has no important date 999"):
        remove_contact_date(session, contact.id, 999)
    remove_contact_date(session, contact.id, row.id)
    assert contact_dates(session, contact.id) == []


def test_the_country_is_filled_from_the_number_when_empty(backend, session, clock):
    chinese = create_contact(session, default_region="CN", now=clock.now(), phone="138-1234-5602")
    given = create_contact(session, default_region="CN", now=clock.now(), phone="13812345603", country="SG")
    by_mail = create_contact(session, default_region="CN", now=clock.now(), email="ann@example.com")
    assert (chinese.phone, chinese.country, given.country, by_mail.country) == ("+8613812345602", "CN", "SG", None)

    update_contact(session, by_mail.id, default_region="CN", now=clock.now(), changes={"phone": "+85291234567"})
    assert session.get(Contact, by_mail.id).country == "HK"
    # A country cleared on purpose stays empty; one set by hand is not overwritten by a new number.
    update_contact(session, by_mail.id, default_region="CN", now=clock.now(), changes={"country": ""})
    update_contact(session, given.id, default_region="CN", now=clock.now(), changes={"phone": "+12015550101"})
    session.expire_all()
    assert (session.get(Contact, by_mail.id).country, session.get(Contact, given.id).country) == (None, "SG")
