"""What comes back from recipients and mail servers after a message went out.

Holds tracking (signed short links, the open pixel, people vs machines), replies and keyword rules,
unsubscribe and the preference page, bounces and complaints, the bounce mailbox, opt-outs from
provider answers, a contact's timeline, and the inbox tables (replies, keyword rules, channel health).

Offers the others: record_click / record_open, record_reply and the keyword rules, unsubscribe_recipient,
contact_preferences / save_preferences, apply_email_feedback, handle_mailbox_message, the consent
changes provider answers imply (optouts), contact_timeline. It never imports campaigns.results
(import-linter contract in pyproject.toml): reports read responses, not the other way round.
"""
