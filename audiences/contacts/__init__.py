"""Contacts and what they carry: the people a marketer sends to, and every rule about their data.

What is inside: what a valid email, phone, birthday, country and time zone is (records.py), creating,
editing and deleting a contact (editing.py), custom fields, important dates and the occasions they
fall on, tags, static lists and topics, consent with its history, the global suppression list, and
bulk actions over a selection of contacts (bulk.py: one SQL statement per action).

This __init__ is the sub-package's surface: imports/, export.py, cli.py and audiences/__init__.py
use these names. contacts/ reads segments/ (a list can be frozen from a segment, a bulk selection
can be a segment) and never imports imports/; pyproject.toml's import-linter contracts check both.
"""

from audiences.contacts.bulk import (
    BULK_ACTIONS,
    ContactSelection,
    bulk_add_tag,
    bulk_add_to_list,
    bulk_assign_owner,
    bulk_delete,
    bulk_remove_from_list,
    bulk_remove_tag,
    count_selection,
    list_selection,
    run_bulk_action,
    selection_where,
)
from audiences.contacts.consent import (
    KEYWORD_SOURCE,
    PROVIDER_SOURCE,
    ConsentLocked,
    consent_history,
    current_consents,
    set_consent,
    set_consent_by_hand,
    undone_only_by_channel,
)
from audiences.contacts.custom_fields import (
    attribute_validator,
    check_value,
    clean_attributes,
    create_custom_field,
    delete_custom_field,
    get_custom_field,
    list_custom_fields,
    update_custom_field,
    validate_attributes,
)
from audiences.contacts.dates import add_contact_date, contact_dates, dates_of, remove_contact_date
from audiences.contacts.editing import create_contact, delete_contact, owned_contact_counts, update_contact
from audiences.contacts.events import (
    MAX_BATCH as MAX_EVENTS,
)
from audiences.contacts.events import (
    EventReport,
    contact_events,
    events_by_id,
    record_events,
)
from audiences.contacts.lists import (
    add_to_list,
    contact_lists,
    create_list,
    find_or_add_list,
    freeze_segment,
    get_list,
    list_lists,
)
from audiences.contacts.occasions import (
    check_date_source,
    contact_date_keys,
    contacts_with_date_on,
    month_day_key,
    month_day_keys,
)
from audiences.contacts.records import (
    ContactPage,
    check_region,
    clean_fields,
    count_contacts,
    get_contact,
    list_contacts,
    normalise_email,
    normalise_phone,
    require_address,
    split_name,
)
from audiences.contacts.selected import (
    add_tag_to,
    add_to_list_of,
    check_settable,
    remove_from_list_of,
    remove_tag_from,
    set_fields_of,
)
from audiences.contacts.suppression import (
    SuppressionReport,
    add_suppressions,
    is_suppressed,
    list_suppressions,
    remove_suppression,
    split_addresses,
)
from audiences.contacts.tags import check_tag_name, contact_tags, delete_tag, find_or_add_tag, list_tags, tags_of
from audiences.contacts.topics import contact_topic_ids, set_contact_topics, set_topic, topic_lists

__all__ = [
    "MAX_EVENTS",
    "EventReport",
    "contact_events",
    "events_by_id",
    "record_events",
    "add_tag_to",
    "add_to_list_of",
    "check_settable",
    "remove_from_list_of",
    "remove_tag_from",
    "set_fields_of",
    "BULK_ACTIONS",
    "KEYWORD_SOURCE",
    "PROVIDER_SOURCE",
    "ConsentLocked",
    "ContactPage",
    "ContactSelection",
    "SuppressionReport",
    "add_contact_date",
    "add_suppressions",
    "add_to_list",
    "attribute_validator",
    "bulk_add_tag",
    "bulk_add_to_list",
    "bulk_assign_owner",
    "bulk_delete",
    "bulk_remove_from_list",
    "bulk_remove_tag",
    "check_date_source",
    "check_region",
    "check_tag_name",
    "check_value",
    "clean_attributes",
    "clean_fields",
    "consent_history",
    "contact_date_keys",
    "contact_dates",
    "contact_lists",
    "contact_tags",
    "contact_topic_ids",
    "contacts_with_date_on",
    "count_contacts",
    "count_selection",
    "create_contact",
    "create_custom_field",
    "create_list",
    "current_consents",
    "dates_of",
    "delete_contact",
    "delete_custom_field",
    "delete_tag",
    "find_or_add_list",
    "find_or_add_tag",
    "freeze_segment",
    "get_contact",
    "get_custom_field",
    "get_list",
    "is_suppressed",
    "list_contacts",
    "list_custom_fields",
    "list_lists",
    "list_selection",
    "list_suppressions",
    "list_tags",
    "month_day_key",
    "month_day_keys",
    "normalise_email",
    "normalise_phone",
    "owned_contact_counts",
    "remove_contact_date",
    "remove_suppression",
    "require_address",
    "run_bulk_action",
    "selection_where",
    "set_consent",
    "set_consent_by_hand",
    "set_contact_topics",
    "set_topic",
    "split_addresses",
    "split_name",
    "tags_of",
    "topic_lists",
    "undone_only_by_channel",
    "update_contact",
    "update_custom_field",
    "validate_attributes",
]
