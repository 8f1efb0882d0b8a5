"""Sign-up forms with double opt-in: forms built in the UI, served at base_url/f/<slug> and as an embeddable
snippet; each submission checked, its contact found or made `pending`, a confirmation queued through the
outbox (email link, SMS code or "reply Y"), and the consent recorded with its evidence once confirmed.

models.py holds the tables (signup_forms, signup_submissions), forms.py the form definitions,
submissions.py taking a submission, confirmation.py the confirmation message and confirming, events.py the
two events (form_submitted, signup_confirmed) that journeys hook into. This __init__ is the surface.
"""

from campaigns.signups.confirmation import (
    CODE_ATTEMPTS,
    CONFIRM_DAYS,
    SIGNUP_KIND,
    CodeRefused,
    SignupExpired,
    confirm_signup,
    confirm_signup_by_code,
    confirm_signup_by_reply,
    confirmation_code,
    confirmation_url,
    get_submission,
    link_is_genuine,
)
from campaigns.signups.events import SignupEvent, on_signup_event, remove_signup_listener
from campaigns.signups.forms import (
    ADDRESS_FIELD,
    CUSTOM_PREFIX,
    FORM_FIELDS,
    create_form,
    field_choices,
    form_by_slug,
    get_form,
    list_forms,
    update_form,
)
from campaigns.signups.models import FORM_LANGUAGES, SignupForm, SignupSubmission
from campaigns.signups.submissions import SignupInvalid, SignupReceipt, Visitor, submit_signup

__all__ = [
    "ADDRESS_FIELD",
    "CODE_ATTEMPTS",
    "CONFIRM_DAYS",
    "CUSTOM_PREFIX",
    "FORM_FIELDS",
    "FORM_LANGUAGES",
    "SIGNUP_KIND",
    "CodeRefused",
    "SignupEvent",
    "SignupExpired",
    "SignupForm",
    "SignupInvalid",
    "SignupReceipt",
    "SignupSubmission",
    "Visitor",
    "confirm_signup",
    "confirm_signup_by_code",
    "confirm_signup_by_reply",
    "confirmation_code",
    "confirmation_url",
    "create_form",
    "field_choices",
    "form_by_slug",
    "get_form",
    "get_submission",
    "link_is_genuine",
    "list_forms",
    "on_signup_event",
    "remove_signup_listener",
    "submit_signup",
    "update_form",
]
