"""The SSTI and resource-limit corpus (tests/campaigns/content/test_template_budget.py) against preview and save:
a client error naming the limit, quickly, and nothing saved."""

from __future__ import annotations

import time

import pytest

from tests.campaigns.content.test_template_budget import CORPUS, QUICK_SECONDS
from tests.web.test_api import Api


def test_lipsum_is_not_a_name_templates_have(client, api_token):
    analyst = Api(client, api_token("analyst"))
    response = analyst.post("/templates/preview", json={"channel": "sms", "body": "{{ lipsum }}"})
    assert response.status_code == 422
    assert '"lipsum" is not defined' in response.json["message"]


@pytest.fixture
def analyst(client, api_token):
    return Api(client, api_token("analyst"))


@pytest.fixture
def marketer(client, api_token):
    return Api(client, api_token("marketer"))


@pytest.mark.parametrize(("source", "reason"), CORPUS)
def test_a_preview_over_budget_is_a_client_error_naming_the_limit(analyst, source, reason):
    started = time.monotonic()
    response = analyst.post("/templates/preview", json={"channel": "sms", "body": source})
    assert time.monotonic() - started < QUICK_SECONDS
    assert response.status_code == 422, response.json
    assert response.json["field"] == "body"
    assert reason in response.json["message"]


@pytest.mark.parametrize(("source", "reason"), CORPUS)
def test_a_template_over_budget_is_not_saved(marketer, source, reason):
    response = marketer.post("/templates", json={"name": "Heavy", "channel": "sms", "body": source})
    assert response.status_code == 422, response.json
    assert reason in response.json["message"]
    assert marketer.get("/templates").json["items"] == []


def test_an_email_html_part_over_budget_is_refused_too(marketer):
    response = marketer.post("/templates", json={"name": "Heavy", "channel": "email", "subject": "Hi",
                                                 "html": "<p>{{ 'x' * 100000000 }}</p>"})
    assert response.status_code == 422, response.json
    assert response.json["field"] == "html"


@pytest.mark.parametrize("source", [
    "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "{{ contact.first_name" + "|e" * 300 + " }}",  # compiling it took 30 s of CPU, then Python refused the code
    "{{ contact.first_name" + "|e" * 100 + " }}",  # compiled, in 1 s of CPU per preview
    "{% if 1 %}" * 2000 + "{% endif %}" * 2000,
], ids=["parentheses", "300-filters", "100-filters", "ifs"])
def test_a_template_nested_too_deeply_is_a_client_error_on_preview_and_save(analyst, marketer, source):
    started = time.monotonic()
    for response in (analyst.post("/templates/preview", json={"channel": "sms", "body": source}),
                     marketer.post("/templates", json={"name": "Deep", "channel": "sms", "body": source})):
        assert response.status_code == 400, response.json  # a template too deep to read is a 400 (issue 11)
        assert "nested too deeply" in response.json["message"]
    assert time.monotonic() - started < QUICK_SECONDS
