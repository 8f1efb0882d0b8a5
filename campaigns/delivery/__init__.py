"""The outbox loop: how a materialised message leaves Herald and what the provider said about it.

Holds dispatch (claim due rows under a lease, render, wait for the rate, send, record; expired leases
released), answer_groups (a batch's answers recorded a few at a time while it is sent), reconcile
(ask the provider what became of `unknown` messages), sender (channels and a Dispatcher built from
config, run-to-idle), throttle and breaker (a provider that says "slow down" or keeps failing holds its
channel), costs (rate plans and the free quota that price a message at send time) and callbacks
(provider status callbacks, applied forward only).

Offers the others: Dispatcher, release_expired_leases, send_campaign_now / make_dispatcher,
apply_channel_events, paused_channels, the rate plans. It owns the outbox's named queries (outbox.py:
claim, record, leases, unknown rows; callback_queries.py: status callbacks), uses the shared ones in
campaigns/queries.py, and never imports campaigns.results (import-linter contract in pyproject.toml).
"""
