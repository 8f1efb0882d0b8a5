"""Segments: rule trees checked with the rule's path in every error, compiled to one WHERE clause that
means the same on SQLite and PostgreSQL; counts, samples, explanations; saved segments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select

from audiences import (
    Contact,
    ContactList,
    ListMember,
    SegmentRuleInvalid,
    audience_select,
    count_segment,
    create_segment,
    explain_segment,
    freeze_segment,
    get_segment,
    list_segments,
    sample_segment,
    segment_select,
    set_consent,
    update_segment,
)
from core.errors import Invalid, NotFound

TODAY = date(2026, 12, 31)
NOW = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)


def add(session, **fields) -> int:
    fields.setdefault("attributes", {})
    fields.setdefault("created_at", NOW)
    contact = Contact(**fields)
    session.add(contact)
    session.commit()
    return contact.id


def matching(session, rules, today=TODAY) -> set[int]:
    return set(session.scalars(segment_select(rules, today=today)))


def where(field, op, value=None):
    rule = {"field": field, "op": op}
    if value is not None:
        rule["value"] = value
    return {"all": [rule]}


# ---------------------------------------------------------------- validation names the rule
@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"all": [{"field": "email", "op": "eq", "value": "a@b.c"}, {"field": "tierr", "op": "eq", "value": "A"}]},
         'rules.all[1].field "tierr" is not a contact field; known: first_name'),
        ({"any": [{"all": [{"field": "email", "op": "like", "value": "x"}]}]},
         'rules.any[0].all[0].op "like" is not an operator; known: eq, neq'),
        (where("birthday", "contains", "12"), 'rules.all[0].op "contains" does not apply to birthday; use one of'),
        (where("first_name", "in", "Ann"), "rules.all[0].value must be a list of 1 to 1000 values for first_name"),
        (where("created_at", "older_than_days", "30"), "rules.all[0].value must be a whole number of days"),
        (where("birthday", "gt", "31/12/1990"), 'rules.all[0].value must be a date written YYYY-MM-DD'),
        (where("list", "in", ["VIP"]), "rules.all[0].value must be a list of list ids"),
        (where("consent.sms", "eq", "maybe"), "rules.all[0].value must be a consent status: subscribed"),
        (where("attributes.tier", "in", ["A", 1]), "must be a list of values of one type"),
        (where("attributes.vip", "gt", True), "true/false only with eq and neq"),
        (where("email", "empty", "x"), 'rules.all[0].value must be left out for "empty"'),
        (where("email", "eq"), 'rules.all[0].value is missing; "eq" needs a value'),
        (where('attributes.a"b', "eq", "x"), 'rules.all[0].field "attributes.a"b" is not a usable custom field'),
        ({"all": [{"field": "email", "op": "eq", "value": "x", "extra": 1}]}, 'rules.all[0] has the unknown key'),
        ({"all": [3]}, "rules.all[0] is a number; a rule is a group"),
        ({"all": {"field": "email"}}, "rules.all is an object; it must be a list of rules"),
        ({"both": []}, 'rules has the keys both; a group is {"all": [...]}'),
        ([], "rules is an empty list; a group is"),
    ],
)
def test_bad_rules_are_refused_naming_the_rule(rules, message):
    with pytest.raises(SegmentRuleInvalid) as caught:
        segment_select(rules, today=TODAY)

    assert message in str(caught.value)
    assert caught.value.field == "rules"
    assert isinstance(caught.value, Invalid)


def test_too_deep_a_tree_is_refused():
    rules: dict = {"all": []}
    for _ in range(9):
        rules = {"all": [rules]}

    with pytest.raises(SegmentRuleInvalid, match="deeper than 8 levels"):
        segment_select(rules, today=TODAY)


# ---------------------------------------------------------------- operators, both databases
@pytest.fixture
def crowd(backend, session):
    """Five contacts covering text, dates, custom attributes of each JSON type, and missing values."""
    ids = {
        "ann": add(session, first_name="Ann", last_name="Lee", email="ann@example.com", company="Acme_Co",
                   country="US", birthday=date(1990, 1, 3), created_at=NOW - timedelta(days=400),
                   attributes={"tier": "A", "score": 80, "vip": True, "joined": "2020-05-01"}),
        "bob": add(session, first_name="Bob", email="bob@test.org", company="acme corp", country="GB",
                   birthday=date(1985, 12, 31), created_at=NOW - timedelta(days=10),
                   attributes={"tier": "B", "score": 50.5, "vip": False, "code": "5"}),
        "wang": add(session, first_name="芳", last_name="王", phone="+8613800138000", company="",
                    country="CN", birthday=date(2000, 6, 15), created_at=NOW - timedelta(days=30),
                    attributes={"tier": "A", "score": "90", "code": 5}),
        "zed": add(session, first_name="Zed", email="zed@example.com", company="Zeta", birthday=None,
                   created_at=NOW, attributes={"tier": None, "score": 10}),
        "eve": add(session, first_name="eve", email="", company="ACME", country="US", birthday=date(1999, 2, 28),
                   created_at=NOW - timedelta(days=31), attributes={"tier": ""}),
    }
    return ids


OPERATOR_CASES = [
    (where("first_name", "eq", "Ann"), {"ann"}),
    (where("first_name", "neq", "Ann"), {"bob", "wang", "zed", "eve"}),
    (where("country", "neq", "US"), {"bob", "wang", "zed"}),  # no country counts as "not US"
    (where("company", "contains", "acme"), {"ann", "bob", "eve"}),  # ASCII case ignored
    (where("company", "contains", "e_c"), {"ann"}),  # _ is a character, not a wildcard
    (where("email", "starts_with", "ZED"), {"zed"}),
    (where("country", "in", ["US", "CN"]), {"ann", "wang", "eve"}),
    (where("country", "not_in", ["US", "CN"]), {"bob", "zed"}),
    (where("email", "empty"), {"wang", "eve"}),
    (where("email", "not_empty"), {"ann", "bob", "zed"}),
    (where("first_name", "gt", "Zed"), {"wang", "eve"}),  # code points: "e" and "芳" sort after "Z"
    (where("first_name", "between", ["B", "Z"]), {"bob"}),
    (where("birthday", "eq", "1990-01-03"), {"ann"}),
    (where("birthday", "lt", "1990-01-01"), {"bob"}),
    (where("birthday", "between", ["1990-01-01", "2000-01-01"]), {"ann", "eve"}),
    (where("birthday", "empty"), {"zed"}),
    (where("birthday", "neq", "1990-01-03"), {"bob", "wang", "zed", "eve"}),
    (where("created_at", "gte", "2026-12-01"), {"bob", "wang", "zed"}),
    (where("created_at", "lt", "2026-12-31T09:00:00Z"), {"ann", "bob", "wang", "eve"}),
    (where("created_at", "older_than_days", 30), {"ann", "eve"}),
    (where("created_at", "newer_than_days", 30), {"bob", "wang", "zed"}),
    (where("attributes.tier", "eq", "A"), {"ann", "wang"}),
    (where("attributes.tier", "neq", "A"), {"bob", "zed", "eve"}),
    (where("attributes.tier", "in", ["A", "B"]), {"ann", "bob", "wang"}),
    (where("attributes.tier", "empty"), {"zed", "eve"}),  # JSON null and "" are empty
    (where("attributes.tier", "not_empty"), {"ann", "bob", "wang"}),
    (where("attributes.score", "gte", 50), {"ann", "bob", "wang"}),  # the string "90" reads as a number
    (where("attributes.tier", "gte", 0), set()),  # "A", "B", "" and null are not numbers
    (where("attributes.vip", "lt", 5), set()),  # nor are true and false
    (where("attributes.score", "between", [10, 50.5]), {"bob", "zed"}),
    (where("attributes.score", "eq", "90"), {"wang"}),
    (where("attributes.code", "eq", "5"), {"bob"}),  # the string "5", not the number 5
    (where("attributes.code", "eq", 5), {"bob", "wang"}),  # the number 5 and the string "5"
    (where("attributes.joined", "gt", 0), set()),  # "2020-05-01" is a date, not a decimal
    (where("attributes.vip", "eq", True), {"ann"}),
    (where("attributes.vip", "eq", False), {"bob"}),
    (where("attributes.vip", "neq", True), {"bob", "wang", "zed", "eve"}),
    (where("attributes.joined", "lt", "2021-01-01"), {"ann"}),
    (where("attributes.tier", "contains", "a"), {"ann", "wang"}),
    (where("attributes.code", "starts_with", "5"), {"bob"}),  # not the number 5
    (where("attributes.score", "starts_with", "9"), {"wang"}),
    (where("attributes.vip", "starts_with", "t"), set()),  # true is a boolean, not the text "true"
    (where("attributes.tier", "starts_with", "a"), {"ann", "wang"}),
    (where("company", "starts_with", "ACME"), {"ann", "bob", "eve"}),
    (where("attributes.missing", "empty"), {"ann", "bob", "wang", "zed", "eve"}),
    ({"any": [{"field": "country", "op": "eq", "value": "GB"},
              {"all": [{"field": "attributes.tier", "op": "eq", "value": "A"},
                       {"field": "country", "op": "eq", "value": "CN"}]}]}, {"bob", "wang"}),
    ({"all": []}, {"ann", "bob", "wang", "zed", "eve"}),
    ({"any": []}, set()),
]


@pytest.mark.parametrize(("rules", "expected"), OPERATOR_CASES)
def test_each_operator_selects_the_same_contacts_on_both_databases(session, crowd, rules, expected):
    assert matching(session, rules) == {crowd[name] for name in expected}


# ---------------------------------------------------------------- birthdays
def test_birthday_within_days_wraps_the_year_end(backend, session):
    ids = {day: add(session, first_name=day.isoformat(), birthday=day) for day in (
        date(1980, 12, 30), date(1990, 12, 31), date(2001, 1, 1), date(1975, 1, 7), date(1975, 1, 8),
        date(2000, 6, 1))}

    found = matching(session, where("birthday", "birthday_within_days", 7), today=date(2026, 12, 31))

    assert found == {ids[date(1990, 12, 31)], ids[date(2001, 1, 1)], ids[date(1975, 1, 7)]}


def test_a_29_february_birthday_counts_on_28_february_in_other_years(backend, session):
    leap = add(session, first_name="Leap", birthday=date(2000, 2, 29))
    march = add(session, first_name="March", birthday=date(1999, 3, 1))
    rules = where("birthday", "birthday_within_days", 0)

    assert matching(session, rules, today=date(2027, 2, 28)) == {leap}
    assert matching(session, rules, today=date(2028, 2, 28)) == set()  # 2028 has its own 29 February
    assert matching(session, rules, today=date(2028, 2, 29)) == {leap}
    assert matching(session, rules, today=date(2027, 3, 1)) == {march}


def test_a_window_of_a_year_or_more_is_every_birthday(backend, session):
    with_birthday = add(session, first_name="A", birthday=date(1990, 7, 4))
    add(session, first_name="B", birthday=None)

    assert matching(session, where("birthday", "birthday_within_days", 400)) == {with_birthday}


# ---------------------------------------------------------------- consent and lists
def test_consent_conditions_count_no_row_as_subscribed(backend, session):
    ann, bob, cat = (add(session, first_name=n, email=f"{n}@example.com") for n in ("ann", "bob", "cat"))
    set_consent(session, bob, "email", "unsubscribed", source="link", now=NOW)
    set_consent(session, cat, "sms", "complained", source="carrier", now=NOW)
    set_consent(session, cat, "email", "subscribed", source="form", now=NOW)

    assert matching(session, where("consent.email", "eq", "subscribed")) == {ann, cat}
    assert matching(session, where("consent.email", "neq", "subscribed")) == {bob}
    assert matching(session, where("consent.sms", "in", ["complained", "bounced"])) == {cat}
    assert matching(session, where("consent.sms", "not_in", ["complained"])) == {ann, bob}


def test_list_conditions_select_members_and_non_members(backend, session):
    ann, bob, cat = (add(session, first_name=n) for n in ("ann", "bob", "cat"))
    vip, fair = ContactList(name="VIP"), ContactList(name="Fair")
    session.add_all([vip, fair])
    session.flush()
    session.add_all([ListMember(list_id=vip.id, contact_id=ann), ListMember(list_id=fair.id, contact_id=ann),
                     ListMember(list_id=fair.id, contact_id=bob)])
    session.commit()

    assert matching(session, where("list", "in", [vip.id])) == {ann}
    assert matching(session, where("list", "in", [vip.id, fair.id])) == {ann, bob}
    assert matching(session, where("list", "not_in", [vip.id])) == {bob, cat}
    assert matching(session, where("list", "in", [9999])) == set()


# ---------------------------------------------------------------- count, sample, explain
def record_selects(session):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", record)
    return seen


def test_count_and_sample_agree_with_the_selection(session, crowd):
    rules = {"all": [{"field": "attributes.tier", "op": "eq", "value": "A"}]}
    statements = record_selects(session)

    assert count_segment(session, rules, today=TODAY) == 2
    assert [c.id for c in sample_segment(session, rules, today=TODAY, limit=1)] == [crowd["ann"]]
    assert len(statements) == 2


def test_explain_says_which_rule_removes_how_many(backend, session, crowd):
    rules = {"all": [
        {"field": "country", "op": "eq", "value": "US"},                     # ann, eve
        {"field": "attributes.tier", "op": "eq", "value": "A"},              # ann, wang
        {"any": [{"field": "company", "op": "contains", "value": "acme"}]},  # ann, bob, eve
    ]}
    statements = record_selects(session)

    explained = explain_segment(session, rules, today=TODAY)

    assert [(e["path"], e["count_alone"], e["excluded"]) for e in explained] == [
        ("rules.all[0]", 2, 0),  # tier A and acme: ann only, who is in the US
        ("rules.all[1]", 2, 1),  # US and acme: ann, eve; tier A drops eve
        ("rules.all[2]", 3, 0),  # US and tier A: ann
    ]
    assert explained[1]["rule"] == {"field": "attributes.tier", "op": "eq", "value": "A"}
    assert len(statements) == 1  # one scan, whatever the number of rules


def test_explain_an_empty_audience_points_at_the_rule_that_empties_it(session, crowd):
    rules = {"all": [{"field": "country", "op": "eq", "value": "US"},
                     {"field": "birthday", "op": "birthday_within_days", "value": 3}]}

    first, second = explain_segment(session, rules, today=date(2026, 7, 1))

    assert count_segment(session, rules, today=date(2026, 7, 1)) == 0
    assert (first["count_alone"], first["excluded"]) == (2, 0)
    assert (second["count_alone"], second["excluded"]) == (0, 2)


# ---------------------------------------------------------------- audience_select with a segment
def test_audience_select_keeps_only_the_segment(backend, session, crowd):
    rules = where("attributes.tier", "eq", "A")

    rows = session.execute(audience_select(None, "sms", segment_rules=rules, today=TODAY)).all()

    assert {(r.contact_id, r.address, r.reachable) for r in rows} == {
        (crowd["ann"], None, 0), (crowd["wang"], "+8613800138000", 1)}
    assert len(session.execute(audience_select(None, "sms")).all()) == 5  # the old call is unchanged


# ---------------------------------------------------------------- saved segments
def test_segments_are_saved_updated_and_listed(session):
    rules = where("attributes.tier", "eq", "A")
    saved = create_segment(session, name="  A tier  ", rules=rules, now=NOW)
    create_segment(session, name="Birthdays", rules=where("birthday", "birthday_within_days", 7), now=NOW)

    later = NOW + timedelta(hours=1)
    update_segment(session, saved.id, name="A-tier", rules=where("attributes.tier", "in", ["A", "B"]), now=later)

    found = get_segment(session, saved.id)
    assert (found.name, found.rules, found.updated_at) == ("A-tier", where("attributes.tier", "in", ["A", "B"]), later)
    assert [s.name for s in list_segments(session)] == ["A-tier", "Birthdays"]


def test_a_segment_name_is_unique_and_bad_rules_are_not_saved(session):
    create_segment(session, name="VIP", rules={"all": []}, now=NOW)

    with pytest.raises(Invalid, match='a segment named "VIP" already exists'):
        create_segment(session, name="VIP", rules={"all": []}, now=NOW)
    with pytest.raises(SegmentRuleInvalid, match=r"rules\.all\[0\]\.field"):
        create_segment(session, name="Bad", rules=where("tierr", "eq", "A"), now=NOW)
    with pytest.raises(NotFound, match="segment 999 does not exist"):
        update_segment(session, 999, name="x", now=NOW)
    assert [s.name for s in list_segments(session)] == ["VIP"]
    assert session.scalar(select(Contact.id)) is None


# ---------------------------------------------------------------- freezing into a static list
def test_freezing_a_segment_copies_todays_members_to_a_new_list(backend, session, crowd):
    rules = where("attributes.tier", "eq", "A")

    frozen, added = freeze_segment(session, rules, list_name="A tier, 31 Dec", today=TODAY, now=NOW)
    session.add(Contact(first_name="Late", attributes={"tier": "A"}, created_at=NOW))  # joins after the freeze
    session.commit()

    members = set(session.scalars(select(ListMember.contact_id).where(ListMember.list_id == frozen.id)))
    assert (added, members) == (2, {crowd["ann"], crowd["wang"]})
    assert count_segment(session, rules, today=TODAY) == 3


def test_freezing_refuses_a_taken_name_and_bad_rules_before_writing(session, crowd):
    freeze_segment(session, {"all": []}, list_name="Everyone", today=TODAY, now=NOW)

    with pytest.raises(Invalid, match='a list named "Everyone" already exists'):
        freeze_segment(session, {"all": []}, list_name="Everyone", today=TODAY, now=NOW)
    with pytest.raises(SegmentRuleInvalid, match=r"rules\.all\[0\]\.field"):
        freeze_segment(session, where("tierr", "eq", "A"), list_name="Bad", today=TODAY, now=NOW)
    assert [lst.name for lst in session.scalars(select(ContactList))] == ["Everyone"]
