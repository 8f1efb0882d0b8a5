"""The audience pages, one blueprint per page group: contacts, lists, topics, the import, segments,
and the contact settings (custom fields, tags, suppression list).

Each module owns its blueprint and imports no other page module's routes; web/pages/__init__.py
registers PAGES (and guards them with login) in one place. contact_labels.py (field labels the
contact pages share) and segment_catalogue.py (what the segment editor offers) hold no routes.
"""

from web.pages.audiences import contact_settings, contacts, imports, lists, segments, topics

PAGES = (contacts, lists, topics, imports, segments, contact_settings)

__all__ = ["PAGES"]
