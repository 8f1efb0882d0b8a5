"""Contacts and lists: validation, lookups, search, paging and list membership."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select

from audiences import (
    ListMember,
    add_to_list,
    contact_lists,
    count_contacts,
    create_contact,
    create_list,
    get_contact,
    get_list,
    list_contacts,
    list_lists,
    split_name,
)
from audiences.contacts.records import normalise_phone
from core.errors import Invalid, NotFound


def add(session, clock, region="US", **fields):
    return create_contact(session, default_region=region, now=clock.now(), **fields)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("王芳", "芳", "王"),
        ("李秀英", "秀英", "李"),
        ("欧阳娜娜", "娜娜", "欧阳"),
        ("王 芳", "芳", "王"),
        ("Mary Ann Smith", "Mary Ann", "Smith"),
        ("Smith, John", "John", "Smith"),
        ("Cher", "Cher", ""),
        ("  ", "", ""),
    ],
)
def test_names_split_with_the_surname_where_the_culture_puts_it(full, first, last):
    assert split_name(full) == (first, last)


def test_contact_fields_are_normalised(session, clock):
    contact = add(
        session,
        clock,
        region="CN",
        email=" Wang.Fang@Example.CN ",
        phone="138 0013 8000",
        name="王芳",
        country="cn",
        time_zone="asia/shanghai",
        birthday="1988/3/8",
        attributes={"tier": "A"},
    )

    assert contact.email == "wang.fang@example.cn"
    assert contact.phone == "+8613800138000"
    assert (contact.last_name, contact.first_name) == ("王", "芳")
    assert (contact.country, contact.time_zone, contact.birthday) == ("CN", "Asia/Shanghai", date(1988, 3, 8))
    assert contact.attributes == {"tier": "A"}
    assert get_contact(session, contact.id) is contact


def test_bad_phone_message_names_value_region_and_fix():
    with pytest.raises(Invalid) as caught:
        normalise_phone("12345", region="US")

    assert caught.value.message == (
        'phone "12345" is not a valid phone number for region US — write it in international form, e.g. +12015550123'
    )
    assert caught.value.field == "phone"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"first_name": "Ann"}, "neither an email nor a phone"),
        ({"email": "ann@"}, 'email "ann@" is not a valid email address'),
        ({"email": "a@example.com", "birthday": "17/05/1990"}, 'birthday "17/05/1990" is not a date'),
        ({"email": "a@example.com", "company": "x" * 201}, "is 201 characters long; the limit is 200"),
        ({"email": "a@example.com", "locale": "english please"}, 'locale "english please" is not a locale'),
        (
            {"email": "a@example.com", "tier": "A"},
            '"tier" is not a contact field; .* put anything else under attributes',
        ),
    ],
)
def test_invalid_contacts_are_refused(session, clock, fields, message):
    with pytest.raises(Invalid, match=message):
        add(session, clock, **fields)


def test_duplicate_email_or_external_id_names_the_holder(session, clock):
    ann = add(session, clock, email="ann@example.com", external_id="C1")

    with pytest.raises(Invalid, match=f'email "ann@example.com" already belongs to contact {ann.id}'):
        add(session, clock, email="ANN@example.com")
    with pytest.raises(Invalid, match=f'external_id "C1" already belongs to contact {ann.id}'):
        add(session, clock, email="other@example.com", external_id="C1")


def test_missing_contact_and_list_are_not_found(session):
    with pytest.raises(NotFound, match="contact 42 does not exist"):
        get_contact(session, 42)
    with pytest.raises(NotFound, match="list 42 does not exist"):
        get_list(session, 42)


@pytest.fixture
def directory(session, clock):
    wang = add(session, clock, region="CN", name="王芳", phone="13800138000")
    mary = add(session, clock, name="Mary Smith", email="mary.smith@example.com")
    li = add(session, clock, region="CN", name="李伟", email="li_wei@example.cn", phone="13912345678")
    return wang, mary, li


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("王芳", ["wang"]),
        ("芳", ["wang"]),
        ("mary smith", ["mary"]),
        ("SMITH", ["mary"]),
        ("example.cn", ["li"]),
        ("138 0013", ["wang"]),
        ("+86", ["li", "wang"]),
        ("_", ["li"]),  # a literal underscore, not the LIKE wildcard
        ("nobody", []),
    ],
)
def test_search_matches_name_email_and_phone(backend, session, directory, search, expected):
    wang, mary, li = directory
    names = {wang.id: "wang", mary.id: "mary", li.id: "li"}

    page = list_contacts(session, search=search)

    assert [names[c.id] for c in page.items] == expected
    assert page.total == len(expected)


def test_contacts_are_paged_newest_first(session, clock, directory):
    wang, mary, li = directory

    first = list_contacts(session, per_page=2)
    second = list_contacts(session, per_page=2, page=2)

    assert [c.id for c in first.items] == [li.id, mary.id]
    assert [c.id for c in second.items] == [wang.id]
    assert (first.total, first.pages) == (3, 2)
    with pytest.raises(Invalid, match="pages start at 1"):
        list_contacts(session, page=0)


def test_list_filter_and_counts(session, clock, directory):
    wang, mary, li = directory
    fair = create_list(session, "Spring fair", "attendees")

    assert add_to_list(session, fair.id, [wang.id, li.id], now=clock.now()) == 2
    assert add_to_list(session, fair.id, [li.id, mary.id]) == 1  # li is already on it

    assert [c.id for c in list_contacts(session, list_id=fair.id, search="李").items] == [li.id]
    assert count_contacts(session) == 3 and count_contacts(session, fair.id) == 3
    assert len(session.scalars(select(ListMember).where(ListMember.list_id == fair.id)).all()) == 3


def test_adding_unknown_contacts_adds_nothing(session, clock, directory):
    fair = create_list(session, "Spring fair")

    with pytest.raises(NotFound, match="1 contact id\\(s\\) do not exist: 999"):
        add_to_list(session, fair.id, [directory[0].id, 999])
    assert count_contacts(session, fair.id) == 0


def test_list_names_are_unique_and_required(session):
    create_list(session, "VIP")

    with pytest.raises(Invalid, match='a list named "VIP" already exists'):
        create_list(session, " VIP ")
    with pytest.raises(Invalid, match="a list needs a name"):
        create_list(session, "  ")


def test_lists_come_with_member_counts_from_one_query(backend, database, session, clock, directory):
    wang, mary, li = directory
    vip = create_list(session, "VIP")
    create_list(session, "Empty")
    add_to_list(session, vip.id, [wang.id, mary.id, li.id])
    statements = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    lists = list_lists(session)

    assert [(lst.name, members) for lst, members in lists] == [("Empty", 0), ("VIP", 3)]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_a_contacts_lists_come_by_name_from_one_query(backend, database, session, clock, directory):
    wang, mary, li = directory
    vip = create_list(session, "VIP")
    fair = create_list(session, "Spring fair")
    create_list(session, "Empty")
    add_to_list(session, vip.id, [wang.id, mary.id])
    add_to_list(session, fair.id, [wang.id])
    statements = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    lists = contact_lists(session, wang.id)

    assert [lst.name for lst in lists] == ["Spring fair", "VIP"]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert [lst.name for lst in contact_lists(session, mary.id)] == ["VIP"]
    assert contact_lists(session, li.id) == [] and contact_lists(session, 4040) == []
