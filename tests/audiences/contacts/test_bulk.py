"""Bulk actions over a selection: one statement each, counting only the contacts that changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from audiences import (
    Contact,
    ContactSelection,
    ListMember,
    add_to_list,
    bulk_add_tag,
    bulk_add_to_list,
    bulk_assign_owner,
    bulk_delete,
    bulk_remove_from_list,
    bulk_remove_tag,
    contact_tags,
    count_selection,
    create_contact,
    create_list,
    create_segment,
    delete_tag,
    list_selection,
    list_tags,
    run_bulk_action,
    set_consent,
)
from core.errors import Conflict, Invalid, NotFound
from core.users import create_user


@pytest.fixture
def crowd(backend, session, clock):
    """Six contacts: four in Beijing (two of them on the fair list), two in Shanghai."""
    now = clock.now()
    ids = [create_contact(session, default_region="CN", now=now, email=f"p{i}@example.com",
                          first_name=f"P{i}", region="北京" if i < 4 else "上海").id for i in range(6)]
    fair = create_list(session, "Fair 2026", now=now)
    add_to_list(session, fair.id, ids[:2], now=now)
    return ids, fair.id


def test_tagging_a_filtered_selection_counts_only_new_tags(session, clock, crowd):
    ids, _ = crowd
    today, now = clock.now().date(), clock.now()
    beijing = create_segment(session, name="Beijing", now=now,
                             rules={"all": [{"field": "first_name", "op": "in", "value": ["P0", "P1", "P2", "P3"]}]})
    selection = ContactSelection(segment_id=beijing.id)
    assert count_selection(session, selection, today=today) == 4
    assert bulk_add_tag(session, ContactSelection(contact_ids=[ids[0]]), "vip", today=today, now=now) == 1
    assert bulk_add_tag(session, selection, "vip", today=today, now=now) == 3
    assert [(t.name, n) for t, n in list_tags(session)] == [("vip", 4)]

    tagged = ContactSelection(tag="vip", search="p3")
    assert [c.id for c in list_selection(session, tagged, today=today).items] == [ids[3]]
    assert bulk_remove_tag(session, ContactSelection(tag="vip"), "vip", today=today) == 4
    assert contact_tags(session, ids[0]) == []


def test_list_membership_in_bulk(session, clock, crowd):
    ids, fair = crowd
    today, now = clock.now().date(), clock.now()
    everyone = ContactSelection()
    assert bulk_add_to_list(session, everyone, fair, today=today, now=now) == 4  # two were already on it
    members = select(func.count()).select_from(ListMember).where(ListMember.list_id == fair)
    assert session.scalar(members) == 6
    assert bulk_remove_from_list(session, ContactSelection(search="p5"), fair, today=today) == 1
    assert session.scalar(members) == 5
    with pytest.raises(NotFound, match="list 999 does not exist"):
        bulk_add_to_list(session, everyone, 999, today=today, now=now)


def test_owner_assignment_and_the_unowned_filter(session, clock, crowd):
    ids, fair = crowd
    today, now = clock.now().date(), clock.now()
    mia = create_user(session, email="mia@example.com", password="secret-pass-1")
    on_list = ContactSelection(list_id=fair)
    assert bulk_assign_owner(session, on_list, mia.id, today=today, now=now) == 2
    assert bulk_assign_owner(session, on_list, mia.id, today=today, now=now) == 0  # nothing changed hands
    assert count_selection(session, ContactSelection(owner_id=mia.id), today=today) == 2
    assert count_selection(session, ContactSelection(owner_id=0), today=today) == 4
    assert bulk_assign_owner(session, ContactSelection(), None, today=today, now=now) == 2
    with pytest.raises(Invalid, match="owner 999 is not a Herald user"):
        bulk_assign_owner(session, on_list, 999, today=today, now=now)


def test_delete_needs_the_confirmed_count_and_takes_everything_of_the_contact(session, clock, crowd):
    ids, fair = crowd
    today, now = clock.now().date(), clock.now()
    set_consent(session, ids[0], "email", "unsubscribed", source="link", now=now)
    bulk_add_tag(session, ContactSelection(list_id=fair), "fair", today=today, now=now)
    with pytest.raises(Conflict, match="the selection now holds 2 contacts, not the 3 you confirmed"):
        bulk_delete(session, ContactSelection(list_id=fair), expected=3, today=today)
    assert session.scalar(select(func.count()).select_from(Contact)) == 6

    assert run_bulk_action(session, "delete", ContactSelection(list_id=fair), today=today, now=now, expected=2) == 2
    assert session.scalar(select(func.count()).select_from(Contact)) == 4
    assert [(t.name, n) for t, n in list_tags(session)] == [("fair", 0)]


def test_bulk_action_input_is_checked(session, clock, crowd):
    today, now = clock.now().date(), clock.now()
    with pytest.raises(Invalid, match='bulk action "explode" is not known'):
        run_bulk_action(session, "explode", ContactSelection(), today=today, now=now)
    with pytest.raises(Invalid, match="name the tag"):
        run_bulk_action(session, "add_tag", ContactSelection(), today=today, now=now, tag=" ")
    with pytest.raises(Invalid, match="deleting needs the number of contacts you confirmed"):
        run_bulk_action(session, "delete", ContactSelection(), today=today, now=now)
    with pytest.raises(NotFound, match='no contact has the tag "nope"'):
        count_selection(session, ContactSelection(tag="nope"), today=today)


def test_deleting_a_tag_takes_it_off_every_contact(session, clock, crowd):
    ids, _ = crowd
    today, now = clock.now().date(), clock.now()
    bulk_add_tag(session, ContactSelection(contact_ids=ids[:2]), "old", today=today, now=now)
    [(tag, count)] = list_tags(session)
    assert delete_tag(session, tag.id) == "old"
    assert list_tags(session) == [] and contact_tags(session, ids[0]) == []
    with pytest.raises(NotFound, match=f"tag {tag.id} does not exist"):
        delete_tag(session, tag.id)
