"""The content pages, one blueprint per page group: templates (the editor with its live preview and checks,
Send a test), the template gallery, and the seed list test sends also go to.

Each module owns its blueprint and imports no other page module's routes; web/pages/__init__.py registers
PAGES (and guards them with login) in one place.
"""

from web.pages.content import gallery, seed_list, templates

PAGES = (templates, gallery, seed_list)

__all__ = ["PAGES"]
