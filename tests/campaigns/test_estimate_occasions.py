"""The estimate of a birthday, anniversary or holiday campaign is a calendar of occasions, not one blast."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from audiences import ContactDate
from campaigns.estimate import estimate_campaign
from campaigns.firing import planned_timing
from campaigns.schedules import ScheduleDefaults
from tests.campaigns.test_firing import person, scheduled

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
PRICE = Decimal("0.05")
DEFAULTS = ScheduleDefaults(default_zone="UTC", quiet_hours="", feb29="feb28", grace_seconds=6 * 3600)


def _estimate(session, campaign):
    _, at = planned_timing(session, campaign, defaults=DEFAULTS, now=NOW)
    return estimate_campaign(session, campaign.id, now=at, price=PRICE, currency="USD", rate="10/second")


def test_a_birthday_campaigns_estimate_lists_who_is_greeted_when_and_the_cost_per_month(session, backend):
    for name in ("Ann", "Bo", "Cy", "Di"):
        person(session, NOW, birthday=date(1990, 3, 5), first_name=name, last_name="Lee")
    person(session, NOW, birthday=date(1985, 3, 20), first_name="Ed", last_name="Wu")
    for name in ("Fay", "Gus"):
        person(session, NOW, birthday=date(1979, 6, 1), first_name=name)
    person(session, NOW, birthday=date(1996, 2, 29), first_name="Leap")  # 28 February 2027
    person(session, NOW, first_name="Nobday")  # no birthday: never greeted
    person(session, NOW, birthday=date(1990, 3, 5), first_name="Nophone", phone=None)  # unreachable by SMS
    campaign = scheduled(session, NOW, {"kind": "date_rule", "date_source": "birthday", "time_of_day": "09:00",
                                        "time_zone": "Asia/Shanghai"})
    estimate = _estimate(session, campaign)
    plan = estimate.occasions
    assert plan is not None and plan.time_of_day == "09:00" and plan.time_zone == "Asia/Shanghai"
    assert [(o.day, o.recipients) for o in plan.occasions] == [(date(2026, 3, 5), 4), (date(2026, 3, 20), 1)]
    first = plan.occasions[0]
    assert first.fire_at == datetime(2026, 3, 5, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert first.names == ("Ann Lee", "Bo Lee", "Cy Lee") and first.cost == Decimal("0.2000")
    assert plan.occasions[1].names == ("Ed Wu",)
    months = {m.month: m.recipients for m in plan.months}
    assert len(plan.months) == 12 and plan.months[0].month == "2026-03"
    assert months["2026-03"] == 5 and months["2026-06"] == 2 and months["2027-02"] == 1 and months["2026-04"] == 0
    assert {m.month: m.cost for m in plan.months}["2026-06"] == Decimal("0.1000")
    assert plan.recipients == 5 and plan.cost == Decimal("0.2500")
    api = estimate.to_dict()["occasions"]
    assert api["occasions"][0] == {"day": "2026-03-05", "fire_at": "2026-03-05T01:00:00+00:00", "recipients": 4,
                                   "names": ["Ann Lee", "Bo Lee", "Cy Lee"], "cost": "0.20"}
    assert api["recipients"] == 5 and api["cost"] == "0.25" and api["cost_per_recipient"] == "0.05"
    assert estimate.first_send_at == first.fire_at  # not "everyone now"
    assert estimate.last_send_at == datetime(2026, 3, 20, 1, 0, tzinfo=UTC)
    assert plan.greetable == 8 and estimate.sendable == 9  # reachable with a birthday; reachable at all


def test_an_anniversary_three_days_ahead_and_a_holiday_are_occasions_too(session, backend):
    renewing = person(session, NOW, first_name="Renee")
    session.add(ContactDate(contact_id=renewing.id, kind="contract_renewal", date=date(2024, 3, 17)))
    person(session, NOW, first_name="Max", member_since="2020-03-14")
    person(session, NOW, first_name="Odd", member_since="not a date")
    session.commit()
    renewal = scheduled(session, NOW, {"kind": "date_rule", "date_source": "date:contract_renewal",
                                       "offset_days": -3, "time_of_day": "10:00"})
    plan = _estimate(session, renewal).occasions
    assert [(o.day, o.recipients, o.names) for o in plan.occasions] == [(date(2026, 3, 14), 1, ("Renee Lee",))]
    member = scheduled(session, NOW, {"kind": "date_rule", "date_source": "attribute:member_since",
                                      "time_of_day": "10:00"})
    assert [(o.day, o.recipients) for o in _estimate(session, member).occasions.occasions] == [(date(2026, 3, 14), 1)]

    festival = scheduled(session, NOW, {"kind": "holiday", "country": "CN", "time_of_day": "09:00",
                                        "holiday": "Chinese New Year (Spring Festival)", "per_recipient": True})
    estimate = _estimate(session, festival)
    plan = estimate.occasions
    # counted from the next firing: Spring Festival 2027, 09:00 in each recipient's zone (from UTC+14 on)
    assert plan.time_zone == "recipient"
    assert [(o.day, o.fire_at, o.recipients) for o in plan.occasions] == [
        (date(2027, 2, 6), datetime(2027, 2, 5, 19, 0, tzinfo=UTC), 3)]
    assert plan.occasions[0].names == ("Renee Lee", "Max Lee", "Odd Lee")
    months = {m.month: m.recipients for m in plan.months}
    assert months["2027-02"] == estimate.sendable == 3 and months["2028-01"] == 3  # Spring Festival 2028: 26 Jan
    assert sum(months.values()) == 6
