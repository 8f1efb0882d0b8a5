"""Demo contacts for a first look: half Chinese, half American, deterministic for a seed.

Every address is in a reserved domain (example.com, example.cn) and every number passes the same
phonenumbers check the importer applies, so the demo data could have been imported.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from audiences.models import Contact

# (surname, pinyin) and (given name, pinyin): common names, so the demo looks like a real CRM export.
CHINESE_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("欧阳", "ouyang"),
)  # fmt: skip
CHINESE_GIVEN = (
    ("芳", "fang"), ("伟", "wei"), ("静", "jing"), ("敏", "min"), ("强", "qiang"), ("磊", "lei"),
    ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("娟", "juan"),
    ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("志强", "zhiqiang"),
    ("丽娜", "lina"), ("建华", "jianhua"), ("晓东", "xiaodong"),
)  # fmt: skip
CHINESE_CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都", "南京", "武汉")
# China Mobile / Unicom / Telecom mobile prefixes that phonenumbers accepts as valid.
CHINESE_MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "186", "188")

ENGLISH_FIRST = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Susan", "Emily", "Daniel", "Olivia", "Noah",
)  # fmt: skip
ENGLISH_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
    "Clark", "Lewis",
)  # fmt: skip
# East-coast cities only, so America/New_York is right for all of them; area codes match the city.
US_CITIES = (("New York", "212"), ("New York", "646"), ("Jersey City", "201"), ("Newark", "973"),
             ("Boston", "617"), ("Philadelphia", "215"))  # fmt: skip

TIERS = (("A", 2), ("B", 3), ("C", 5))  # value tiers and their weights: few A customers, many C


def _birthday(rng: random.Random) -> date | None:
    if rng.random() < 0.35:
        return None
    return date(1960, 1, 1) + timedelta(days=rng.randrange(45 * 365))


def _chinese(rng: random.Random, n: int) -> dict[str, Any]:
    surname, surname_py = rng.choice(CHINESE_SURNAMES)
    given, given_py = rng.choice(CHINESE_GIVEN)
    phone = f"+86{rng.choice(CHINESE_MOBILE_PREFIXES)}{n % 10**8:08d}"
    # Some customers are reachable by SMS only, as in a Chinese CRM where the phone is the key.
    email = None if rng.random() < 0.2 else f"{given_py}.{surname_py}{n}@example.cn"
    return {
        "first_name": given,
        "last_name": surname,
        "email": email,
        "phone": phone,
        "country": "CN",
        "locale": "zh_CN",
        "time_zone": "Asia/Shanghai",
        "city": rng.choice(CHINESE_CITIES),
    }


def _american(rng: random.Random, n: int) -> dict[str, Any]:
    first, last = rng.choice(ENGLISH_FIRST), rng.choice(ENGLISH_LAST)
    city, area = rng.choice(US_CITIES)
    # 555-01XX is reserved for fiction but holds only a hundred numbers; other 555 lines in these
    # area codes pass phonenumbers' checks too, and `n` keeps them unique.
    phone = None if rng.random() < 0.15 else f"+1{area}555{n % 10**4:04d}"
    return {
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}{n}@example.com",
        "phone": phone,
        "country": "US",
        "locale": "en",
        "time_zone": "America/New_York",
        "city": city,
    }


def make_demo_contacts(session: Session, *, count: int, seed: int, now: datetime) -> int:
    """Insert `count` demo contacts (even n Chinese, odd n American) in bulk, and commit. Returns how many were made.

    The same seed gives the same contacts; each has external_id demo-<seed>-<n>, and those already in the
    database are skipped, so running it twice does not duplicate anyone.
    """
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        person = _chinese(rng, n) if n % 2 == 0 else _american(rng, n)
        city = person.pop("city")
        tier = rng.choices([t for t, _ in TIERS], weights=[w for _, w in TIERS])[0]
        rows.append(
            person
            | {
                "external_id": f"demo-{seed}-{n}",
                "company": "",
                "birthday": _birthday(rng),
                "attributes": {"tier": tier, "city": city},
                "created_at": now,
                "updated_at": now,
            }
        )
    made = 0
    for start in range(0, len(rows), 1000):
        part = rows[start : start + 1000]
        taken = set(
            session.scalars(
                select(Contact.external_id).where(Contact.external_id.in_([r["external_id"] for r in part]))
            )
        )
        fresh = [r for r in part if r["external_id"] not in taken]
        if fresh:
            session.execute(insert(Contact), fresh)
            made += len(fresh)
    session.commit()
    return made
