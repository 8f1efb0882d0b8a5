"""Journeys: multi-step automations (issue 16) — entry, steps, goal and exits — advanced by the scheduler in
set-based statements, sending through the campaigns' outbox.

definition.py (the JSON a builder edits, checked), lifecycle.py (create, publish a version, activate,
pause, resume, stop), publish.py (a version's references and step campaigns), engine.py (one pass:
goal and exits, entry.py, then every step's batch: steps.py with sends.py and waits.py, each batch moved
by transitions.py), happenings.py (did an event happen), stats.py (counts per step), recipes.py (ready
journeys as data). This __init__ is what the scheduler, the API and the pages use.
"""

from campaigns.journeys.definition import HAPPENINGS, STEP_KINDS, Definition, JourneyInvalid, parse_definition
from campaigns.journeys.engine import Pass, advance_journey, advance_journeys
from campaigns.journeys.lifecycle import (
    activate_journey,
    create_journey,
    get_journey,
    latest_version,
    list_journeys,
    pause_journey,
    published_version,
    resume_journey,
    stop_journey,
    update_journey,
)
from campaigns.journeys.models import (
    ENROLMENT_STATUSES,
    JOURNEY_STATUSES,
    Enrolment,
    EnrolmentHistory,
    Journey,
    JourneyVersion,
)
from campaigns.journeys.sends import SendSettings
from campaigns.journeys.stats import JourneyStats, journey_stats

__all__ = [
    "ENROLMENT_STATUSES",
    "HAPPENINGS",
    "JOURNEY_STATUSES",
    "STEP_KINDS",
    "Definition",
    "Enrolment",
    "EnrolmentHistory",
    "Journey",
    "JourneyInvalid",
    "JourneyStats",
    "JourneyVersion",
    "Pass",
    "SendSettings",
    "activate_journey",
    "advance_journey",
    "advance_journeys",
    "create_journey",
    "get_journey",
    "journey_stats",
    "latest_version",
    "list_journeys",
    "parse_definition",
    "pause_journey",
    "published_version",
    "resume_journey",
    "stop_journey",
    "update_journey",
]
