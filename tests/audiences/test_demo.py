from __future__ import annotations

from sqlalchemy import select

from audiences import Contact, count_contacts, make_demo_contacts
from audiences.contacts.records import normalise_email, normalise_phone, normalise_time_zone


def snapshot(session) -> list[tuple]:
    contacts = session.scalars(select(Contact).order_by(Contact.external_id)).all()
    return [
        (c.external_id, c.first_name, c.last_name, c.email, c.phone, c.birthday, c.country, c.time_zone, c.attributes)
        for c in contacts
    ]


def test_demo_contacts_are_valid_and_mixed(session, clock):
    assert make_demo_contacts(session, count=200, seed=7, now=clock.now()) == 200

    contacts = session.scalars(select(Contact)).all()
    chinese = [c for c in contacts if c.country == "CN"]
    assert len(chinese) == 100
    for c in contacts:
        assert c.email or c.phone
        if c.email:
            assert normalise_email(c.email) == c.email
            assert c.email.endswith("@example.cn" if c.country == "CN" else "@example.com")
        if c.phone:
            assert normalise_phone(c.phone, region=c.country) == c.phone
        assert normalise_time_zone(c.time_zone) == c.time_zone
        assert c.attributes["tier"] in {"A", "B", "C"} and c.attributes["city"]
        assert c.created_at == clock.now()
    assert all(c.phone.startswith("+861") and len(c.last_name) >= 1 for c in chinese if c.phone)
    assert {c.time_zone for c in chinese} == {"Asia/Shanghai"}
    assert {c.attributes["tier"] for c in contacts} == {"A", "B", "C"}
    assert 0 < sum(1 for c in contacts if c.birthday) < 200
    assert len({c.phone for c in contacts if c.phone}) == sum(1 for c in contacts if c.phone)


def test_demo_contacts_are_deterministic_per_seed(session, clock, database, tmp_path):
    from core.db import Database
    from core.migrate import upgrade_database

    make_demo_contacts(session, count=50, seed=3, now=clock.now())
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade_database(other_url)
    other = Database(other_url)
    with other.session() as second:
        make_demo_contacts(second, count=50, seed=3, now=clock.now())
        make_demo_contacts(second, count=50, seed=4, now=clock.now())
        same = [row for row in snapshot(second) if row[0].startswith("demo-3-")]
        different = [row[1:] for row in snapshot(second) if row[0].startswith("demo-4-")]
    other.dispose()

    assert snapshot(session) == same
    assert [row[1:] for row in same] != different


def test_running_the_demo_twice_adds_nobody(session, clock):
    make_demo_contacts(session, count=30, seed=1, now=clock.now())

    assert make_demo_contacts(session, count=30, seed=1, now=clock.now()) == 0
    assert count_contacts(session) == 30
