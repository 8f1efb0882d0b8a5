"""Who a run is sent to, and when each recipient is due: the audience turned into outbox rows.

Holds materialise (one INSERT … SELECT from the audience into `messages`), recipients (everyone or a
list, narrowed by a segment), caps (frequency caps across campaigns), duplicates (one message per
address), holdout (the held-out share and the A/B group, decided in SQL), send_time (each recipient's
due time in their zone, quiet hours) and priority (notices overtake marketing in the claim order).

Offers the others: materialise_run, FrequencyCap, the exclusions materialise applies. It builds on
campaigns.models and campaigns.queries, and reads audiences/ only through its public functions.
"""
