"""Which column of an import file becomes which contact field: proposed from the header, changed by the user.

A target is a contact field ("email", "first_name", …), "name" (split into first and last name),
"tags" (comma-separated tag names, when contacts have tags), "attributes.<name>" (a custom field)
or "ignored". A header written as a target ("external_id", "attributes.score") goes to that target, so
a Herald export imports back unchanged. `propose_columns` guesses from English and Chinese headers
(姓名, 手机, 邮箱, 生日 …); `plan_columns` applies the user's changes and checks that the result can be imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from audiences.models import CONTACT_FIELDS
from core.errors import Invalid

IGNORED = "ignored"
CUSTOM = "attributes."

# Header aliases, compared after lowercasing and turning spaces/hyphens into "_". Chinese names are
# what CRM exports from Chinese Excel use. A field only counts once contacts have it (CONTACT_FIELDS),
# so aliases for fields another part of Herald adds later are harmless until then.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e_mail", "email_address", "mail", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址"),
    "phone": ("phone", "mobile", "phone_number", "mobile_phone", "cell", "tel", "手机", "电话", "手机号", "手机号码",
              "电话号码", "联系电话", "移动电话"),
    "first_name": ("first_name", "firstname", "given_name", "名"),
    "last_name": ("last_name", "lastname", "surname", "family_name", "姓"),
    "name": ("name", "full_name", "fullname", "contact_name", "姓名", "名字", "客户姓名", "联系人", "客户名称"),
    "external_id": ("external_id", "id", "customer_id", "customer_no", "客户编号", "客户id", "编号", "会员号"),
    "company": ("company", "company_name", "organization", "organisation", "公司", "公司名称", "单位", "企业"),
    "country": ("country", "country_code", "国家", "国家/地区"),
    "region": ("region", "province", "state", "地区", "区域", "省份"),
    "birthday": ("birthday", "birth_date", "date_of_birth", "dob", "生日", "出生日期"),
    "time_zone": ("time_zone", "timezone", "时区"),
    "locale": ("locale", "language", "语言"),
    "owner": ("owner", "account_owner", "负责人", "所属员工", "客户经理", "销售"),
    "lifecycle_stage": ("lifecycle_stage", "lifecycle", "stage", "生命周期", "客户阶段", "阶段"),
    "value_tier": ("value_tier", "tier", "等级", "客户等级", "价值等级", "客户级别"),
    "source": ("source", "lead_source", "来源", "客户来源", "渠道"),
    "notes": ("notes", "note", "remarks", "comment", "备注", "说明"),
    "tags": ("tags", "tag", "labels", "标签"),
}


def import_fields(*, with_tags: bool) -> tuple[str, ...]:
    """Every target a column may be mapped to, custom fields and "ignored" aside, in the order the UI lists them."""
    known = [f for f in FIELD_ALIASES if f in CONTACT_FIELDS or f == "name" or (f == "tags" and with_tags)]
    return tuple(known + [f for f in CONTACT_FIELDS if f not in known])


def header_key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").lower())


def column_names(header: list[str]) -> list[str]:
    """One display name per column: the header cell, or "column N" for an empty one."""
    return [cell.strip().lstrip("\ufeff").strip() or f"column {i + 1}" for i, cell in enumerate(header)]


# Columns a Herald export writes that Herald keeps for itself: a re-imported file must not overwrite them
# or turn them into custom fields. "id" is Herald's own id only next to an external_id column; alone it is
# the CRM's id, which becomes the external id.
HERALD_OWN = ("id", "created_at", "updated_at")
# The reason column Herald's error file adds ("error", or "import error" when the file had its own "error"):
# a fixed error file imported again must not turn last time's reasons into a custom field of every contact.
ERROR_COLUMNS = ("error", "import_error")


def is_error_column(header: str) -> bool:
    """Whether a column is the reason column of Herald's error file (ignored unless mapped on purpose)."""
    return header_key(header) in ERROR_COLUMNS


def propose_columns(header: list[str], *, with_tags: bool = False) -> dict[str, str]:
    """{column name: target} guessed from the header; a second column for a field already taken (电话 after
    手机) becomes a custom field, and an empty header cell and the "error" column of Herald's error file are
    ignored.

    A column named as a field (external_id) wins that field over one that is only an alias of it (id), and
    "attributes.<key>" (what export writes) fills the custom field <key>, so an export imports back unchanged.
    """
    fields = import_fields(with_tags=with_tags)
    aliases = {alias: name for name in fields for alias in FIELD_ALIASES.get(name, (name,))}
    keys = [header_key(cell) for cell in header]
    taken: set[str] = {key for key in keys if key in fields}
    herald_export = "external_id" in taken
    proposal: dict[str, str] = {}
    for cell, key, name in zip(header, keys, column_names(header), strict=True):
        target = aliases.get(key)
        custom = _custom_key(cell)
        if not cell.strip():
            proposal[name] = IGNORED
        elif custom:
            proposal[name] = CUSTOM + custom
        elif key in fields:
            proposal[name] = key
        elif (key in HERALD_OWN and (herald_export or key != "id")) or key in ERROR_COLUMNS:
            proposal[name] = IGNORED
        elif target and target not in taken:
            taken.add(target)
            proposal[name] = target
        else:
            proposal[name] = CUSTOM + name
    return proposal


def _custom_key(header: str) -> str:
    """The custom field a header "attributes.<key>" names ("" for any other header)."""
    cell = header.strip().lstrip("\ufeff").strip()
    if cell[:len(CUSTOM)].lower() != CUSTOM:
        return ""
    return cell[len(CUSTOM):].strip()


@dataclass
class ColumnPlan:
    """How each column of a file is read, by position."""

    names: list[str]  # one display name per column
    fields: dict[str, int]  # contact field (or "name") -> column index
    attributes: dict[str, int]  # custom field name -> column index
    tags: int | None  # the column of comma-separated tags
    labels: dict[str, str]  # contact field -> header as the user wrote it, for messages
    columns: dict[str, str] = field(default_factory=dict)  # column name -> target (ImportReport.columns)


def plan_columns(header: list[str], *, filename: str, changes: Mapping[str, str] | None = None,
                 with_tags: bool = False, need_address: bool = True) -> ColumnPlan:
    """The proposal for `header` with the user's `changes` ({column name: target}) applied, checked.

    Raises Invalid when a column name appears twice, a change names a column the file lacks or a
    target that does not exist, two columns go to the same field, or (with `need_address`) no column
    holds an email or phone.
    """
    names = column_names(header)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise Invalid(f'{filename}: column "{name}" appears twice (columns {seen[name] + 1} and {i + 1}) — '
                          "rename one and import again")
        seen[name] = i
    targets = propose_columns(header, with_tags=with_tags)
    fields = import_fields(with_tags=with_tags)
    for name, wanted in (changes or {}).items():
        if name not in targets:
            shown = ", ".join(f'"{n}"' for n in names)
            raise Invalid(f'{filename} has no column "{name}"; its columns are {shown}', field="columns")
        targets[name] = _check_target(name, wanted, fields)
    plan = ColumnPlan(names=names, fields={}, attributes={}, tags=None, labels={}, columns=targets)
    for i, name in enumerate(names):
        target = targets[name]
        if target == IGNORED:
            continue
        if target.startswith(CUSTOM):
            custom = target.removeprefix(CUSTOM)
            if custom in plan.attributes:
                raise Invalid(f'columns "{names[plan.attributes[custom]]}" and "{name}" both go to custom field '
                              f'"{custom}" — ignore one of them', field="columns")
            plan.attributes[custom] = i
            continue
        if target in plan.fields or (target == "tags" and plan.tags is not None):
            other = names[plan.tags if target == "tags" else plan.fields[target]]  # type: ignore[index]
            raise Invalid(f'columns "{other}" and "{name}" both go to {target} — map one of them to a custom field '
                          "or ignore it", field="columns")
        if target == "tags":
            plan.tags = i
        else:
            plan.fields[target] = i
            plan.labels[target] = name if header_key(name) == target else f"{name} ({target})"
    if need_address and "email" not in plan.fields and "phone" not in plan.fields:
        looks_like_data = any("@" in cell or sum(c.isdigit() for c in cell) >= 7 for cell in header)
        hint = ("the first line looks like a contact, not a header: add a header line such as email,phone,name"
                if looks_like_data else "name a column email (or 邮箱) or phone (or 手机), or map one to them")
        found = ", ".join(f'"{n}"' for n in names)
        raise Invalid(f"{filename}: no email or phone column among {found} — {hint}", field="columns")
    return plan


def _check_target(column: str, wanted: str, fields: tuple[str, ...]) -> str:
    target = (wanted or "").strip()
    if target in ("ignore", IGNORED, ""):
        return IGNORED
    for prefix in ("custom:", "custom.", CUSTOM):
        if target.startswith(prefix):
            custom = target[len(prefix):].strip()
            if not custom or len(custom) > 100 or any(ch in custom for ch in '"\\') or \
                    any(ord(ch) < 32 for ch in custom):
                raise Invalid(f'column "{column}": "{custom}" is not a usable custom field name — 1 to 100 '
                              "characters, no quotes or backslashes", field="columns")
            return CUSTOM + custom
    if target in fields:
        return target
    raise Invalid(f'column "{column}" cannot go to "{target}"; choose one of: {", ".join(fields)}, '
                  "attributes.<name> (a custom field) or ignore", field="columns")
