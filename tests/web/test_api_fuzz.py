"""schemathesis against /api/v1/openapi.json, in process: no request makes a 5xx, and every answer is documented
(status, content type, schema). What a third-party client would run, bounded so `make test` stays quick.

Each operation gets EXAMPLES positive cases (schema-valid), as many negative ones (schema-violating), and
the same again with the path's ids pointing at real rows, so the fuzzing reaches past the 404.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from campaigns import create_campaign, create_keyword_rule, create_template, record_reply
from campaigns.journeys import create_journey
from channels.inbound import InboundSms
from tests.campaigns.factories import make_contact, make_list
from web.api.openapi import PATHS

EXAMPLES = 4
# Schema-violating requests must be refused too (negative_data_rejection): a documented constraint is a real one.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
OPERATIONS = [(method.upper(), path) for path, item in PATHS.items() for method in item
              if method in ("get", "post", "put", "patch", "delete")]


@pytest.fixture
def rows(session, clock, config) -> dict[str, int]:
    """One row of each kind the paths name, so a case can carry a real id."""
    now = clock.now()
    contact = make_contact(session, now=now)
    listed = make_list(session, "Fuzzed", [contact], now=now)
    template = create_template(session, name="Fuzz", channel="sms", body="Hi {{ contact.first_name }}", now=now)
    campaign = create_campaign(session, name="Fuzz", channel="sms", template_id=template.id, list_id=listed.id,
                               now=now)
    question = record_reply(session, InboundSms("twilio", "SMfuzz1", contact.phone or "", "+15005550006", "Open?"),
                            config=config.replies, default_region="US", now=now)
    rule = create_keyword_rule(session, keyword="FUZZ", action="tag", tag="fuzz", config=config.replies, now=now)
    journey = create_journey(session, name="Fuzz", now=now, definition={
        "entry": [{"kind": "event", "event": "signed_up"}], "start": "hello",
        "steps": {"hello": {"kind": "send", "channel": "sms", "template_id": template.id}}})
    session.commit()
    return {"contact_id": contact.id, "list_id": listed.id, "template_id": template.id,
            "campaign_id": campaign.id, "reply_id": question.reply_id, "rule_id": rule.id, "journey_id": journey.id}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_request_makes_a_server_error_or_an_undocumented_answer(method, path, app, api_token, rows):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {api_token('admin')}"}
    names = re.findall(r"{(\w+)}", path)
    real = {name: rows.get(name, 1) for name in names}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if names:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))
    if _has_inputs(operation):
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
        if names:
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real))

    @settings(max_examples=EXAMPLES * len(strategies), deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(strategies))
    def answers_as_documented(case) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    answers_as_documented()


def _has_inputs(operation) -> bool:
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody") or operation.path_parameters)
