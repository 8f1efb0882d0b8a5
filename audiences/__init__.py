"""Audiences: contacts, static lists, consent, CSV import, segments, and the recipient query campaigns build on.

This is the package's public surface; its other modules are private to it.
"""

from audiences.consent import set_consent
from audiences.contacts import (
    ContactPage,
    count_contacts,
    create_contact,
    get_contact,
    list_contacts,
    normalise_email,
    normalise_phone,
    split_name,
)
from audiences.demo import make_demo_contacts
from audiences.importer import ImportReport, RejectedRow, import_contacts, write_error_file
from audiences.lists import add_to_list, contact_lists, create_list, freeze_segment, get_list, list_lists
from audiences.models import CONSENT_STATUSES, CONTACT_FIELDS, Consent, Contact, ContactList, ListMember, Segment
from audiences.queries import (
    CHANNELS,
    audience_select,
    contact_ids_by_phone,
    contacts_by_id,
    find_contacts_by_keys,
    first_contact,
    recent_attribute_names,
)
from audiences.segment_rules import SegmentRuleInvalid
from audiences.segments import (
    SegmentPreview,
    count_segment,
    create_segment,
    explain_segment,
    get_segment,
    list_segments,
    preview_segment,
    sample_segment,
    segment_select,
    segment_where,
    update_segment,
)

__all__ = [
    "CHANNELS",
    "CONSENT_STATUSES",
    "CONTACT_FIELDS",
    "Consent",
    "Contact",
    "ContactList",
    "ContactPage",
    "ImportReport",
    "ListMember",
    "RejectedRow",
    "Segment",
    "SegmentPreview",
    "SegmentRuleInvalid",
    "add_to_list",
    "audience_select",
    "contact_lists",
    "contact_ids_by_phone",
    "contacts_by_id",
    "count_contacts",
    "find_contacts_by_keys",
    "count_segment",
    "create_contact",
    "create_list",
    "create_segment",
    "explain_segment",
    "first_contact",
    "freeze_segment",
    "get_contact",
    "get_list",
    "get_segment",
    "import_contacts",
    "list_contacts",
    "list_lists",
    "list_segments",
    "make_demo_contacts",
    "normalise_email",
    "normalise_phone",
    "preview_segment",
    "recent_attribute_names",
    "sample_segment",
    "segment_select",
    "segment_where",
    "set_consent",
    "split_name",
    "update_segment",
    "write_error_file",
]
