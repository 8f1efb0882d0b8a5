"""Money and reports: what a campaign brought in, what it cost, and what it caused.

Holds conversions (API and CSV/XLSX import, recorded once per order), attribution, RFM scores and the
dormant rule, significance tests, the campaign report and each run's report, the overview report, the
weekly report mail, CSV/XLSX exports, and the settings and number formats every report shares.

Offers the others: record_conversion / import_conversions, campaign_report / campaign_status,
ReportSettings, the overview and its exports. It may read the outbox delivery writes; nothing in
campaigns.delivery or campaigns.responses imports it (import-linter contracts in pyproject.toml).
"""
