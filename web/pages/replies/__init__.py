"""The Inbox pages, one blueprint per page group: the Inbox itself (replies waiting, handled, search and
paging), one contact's conversation, and the canned replies staff answer with.

Each module owns its blueprint and imports no other page module's routes; web/pages/__init__.py registers
PAGES (and guards them with login) in one place, and canned_replies on its own: only admins keep them.
"""

from web.pages.replies import canned_replies, conversations, inbox

PAGES = (inbox, conversations)

__all__ = ["PAGES", "canned_replies"]
