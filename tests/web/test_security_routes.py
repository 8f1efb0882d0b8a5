"""Every route × every role against an explicit allow table (issue 11, "Prove it, every run").

The table below names, for each URL rule and method of Flask's url_map, who may use it:
  public  — anyone (webhooks check a signature, /u/… a signed link, /l/ and /o/ a signed token);
  read    — any logged-in user (analyst, approver, marketer, admin);
  write   — marketers and admins;
  approve — approvers and admins;
  admin   — admins only.
One app serves every request. Each role (plus anonymous) calls each route, with path parameters of
objects that exist, a valid CSRF token for page forms, a bearer token for the API, and empty data.
Expected: anonymous is sent to the login (pages) or gets 401 (API); a role without the ability gets
403; a role with it gets neither (a 400/404/409/422 for the empty data is fine) and never a 5xx.
A route missing from the table fails the test, so a new route cannot ship without a decision.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from audiences import (
    add_contact_date,
    add_suppressions,
    add_to_list,
    create_contact,
    create_custom_field,
    create_list,
    create_segment,
    list_suppressions,
    list_tags,
)
from campaigns import (
    add_seed_address,
    create_campaign,
    create_keyword_rule,
    create_template,
    record_reply,
    save_canned_reply,
    send_campaign,
)
from campaigns.delivery.costs import add_fixed_cost, create_rate_plan
from campaigns.delivery.outgoing import unsubscribe_url
from campaigns.journeys import create_journey
from campaigns.models import Message
from campaigns.signups import SignupSubmission, Visitor, create_form, submit_signup
from channels.inbound import InboundSms
from core.users import create_user, issue_api_token
from web.app import create_app

PASSWORD = "correct horse battery"
ROLES = ("anonymous", "analyst", "approver", "marketer", "admin")
ABILITIES = {
    "anonymous": frozenset(),
    "analyst": frozenset({"read"}),
    "approver": frozenset({"read", "approve"}),
    "marketer": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "approve", "admin"}),
}

# (method, rule) -> who may. Adding a route? Add it here with the least ability that should reach it.
ALLOWED: dict[tuple[str, str], str] = {
    # ---- public: login, setup, static files, signed links, provider webhooks, the API's description
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "public",
    ("POST", "/logout/everywhere"): "read",
    ("GET", "/setup"): "public",
    ("POST", "/setup"): "public",
    ("POST", "/language"): "public",
    ("GET", "/static/<path:filename>"): "public",
    ("GET", "/u/<int:message_id>/<sig>"): "public",
    ("POST", "/u/<int:message_id>/<sig>"): "public",
    ("GET", "/l/<token>"): "public",
    ("GET", "/o/<token>.gif"): "public",
    ("POST", "/webhooks/aliyun-sms/inbound"): "public",
    ("POST", "/webhooks/aliyun-sms/report"): "public",
    ("POST", "/webhooks/email/dsn"): "public",
    ("POST", "/webhooks/http-sms/inbound"): "public",
    ("POST", "/webhooks/http-sms/status"): "public",
    ("POST", "/webhooks/sendgrid/events"): "public",
    ("POST", "/webhooks/ses"): "public",
    ("POST", "/webhooks/tencent-sms/inbound"): "public",
    ("POST", "/webhooks/tencent-sms/report"): "public",
    ("POST", "/webhooks/twilio/inbound"): "public",
    ("GET", "/api/v1/openapi.json"): "public",
    # sign-up forms: the hosted page and the snippet's posts (honeypot, signed time token, rate limits —
    # web/signup_guard.py), the SMS code, and the signed confirmation link
    ("GET", "/f/<slug>"): "public",
    ("POST", "/f/<slug>"): "public",
    ("POST", "/f/<slug>/code"): "public",
    ("GET", "/f/confirm/<int:submission_id>/<sig>"): "public",
    ("POST", "/f/confirm/<int:submission_id>/<sig>"): "public",
    # ---- pages: dashboard, contacts, lists, imports
    ("GET", "/"): "read",
    ("GET", "/contacts"): "read",
    ("GET", "/contacts/<int:contact_id>"): "read",
    ("POST", "/contacts/<int:contact_id>/consent"): "write",
    ("POST", "/contacts/<int:contact_id>/dates"): "write",
    ("POST", "/contacts/<int:contact_id>/dates/<int:date_id>/delete"): "write",
    ("POST", "/contacts/<int:contact_id>/delete"): "write",
    ("GET", "/contacts/<int:contact_id>/edit"): "read",
    ("POST", "/contacts/<int:contact_id>/edit"): "write",
    ("POST", "/contacts/bulk"): "write",
    ("GET", "/contacts/export"): "read",
    ("GET", "/contacts/import"): "read",
    ("POST", "/contacts/import"): "write",
    ("GET", "/contacts/import/<import_id>"): "read",
    ("GET", "/contacts/import/<import_id>/columns"): "read",
    ("POST", "/contacts/import/<import_id>/columns"): "write",
    ("GET", "/contacts/import/<import_id>/errors.csv"): "read",
    ("GET", "/contacts/import/<import_id>/status"): "read",
    ("GET", "/contacts/new"): "read",
    ("POST", "/contacts/new"): "write",
    ("GET", "/forms"): "read",
    ("GET", "/forms/new"): "read",
    ("POST", "/forms/new"): "write",
    ("GET", "/forms/<int:form_id>"): "read",
    ("POST", "/forms/<int:form_id>"): "write",
    ("GET", "/forms/<int:form_id>/qr.svg"): "read",
    ("GET", "/forms/<int:form_id>/qr.png"): "read",
    ("GET", "/lists"): "read",
    ("POST", "/lists"): "write",
    ("POST", "/lists/<int:list_id>/topic"): "write",
    # ---- segments (the preview changes nothing: read-only users may post it)
    ("GET", "/segments"): "read",
    ("GET", "/segments/<int:segment_id>"): "read",
    ("POST", "/segments/<int:segment_id>"): "write",
    ("POST", "/segments/<int:segment_id>/freeze"): "write",
    ("GET", "/segments/new"): "read",
    ("POST", "/segments/new"): "write",
    ("POST", "/segments/preview"): "read",
    ("GET", "/segments/values"): "read",
    # ---- templates (the preview too)
    ("GET", "/templates"): "read",
    ("GET", "/templates/<int:template_id>"): "read",
    ("POST", "/templates/<int:template_id>"): "write",
    ("GET", "/templates/new"): "read",
    ("POST", "/templates/new"): "write",
    ("POST", "/templates/preview"): "read",
    # ---- test sends, the seed list and the template gallery
    ("POST", "/templates/<int:template_id>/test"): "write",
    ("POST", "/campaigns/<int:campaign_id>/test"): "write",
    ("GET", "/seeds"): "read",
    ("POST", "/seeds"): "write",
    ("POST", "/seeds/<int:seed_id>/delete"): "write",
    ("GET", "/gallery"): "read",
    ("GET", "/gallery/<key>"): "read",
    ("POST", "/gallery/<key>/copy"): "write",
    ("POST", "/gallery/<key>/delete"): "write",
    ("POST", "/templates/<int:template_id>/gallery"): "write",
    # ---- campaigns
    ("GET", "/campaigns"): "read",
    ("GET", "/campaigns/new"): "read",
    ("POST", "/campaigns/new"): "write",
    ("GET", "/campaigns/<int:campaign_id>"): "read",
    ("POST", "/campaigns/<int:campaign_id>/approve"): "approve",
    ("POST", "/campaigns/<int:campaign_id>/reject"): "approve",
    ("POST", "/campaigns/<int:campaign_id>/submit"): "write",
    ("POST", "/campaigns/<int:campaign_id>/cancel"): "write",
    ("POST", "/campaigns/<int:campaign_id>/pause"): "write",
    ("POST", "/campaigns/<int:campaign_id>/resume"): "write",
    ("POST", "/campaigns/<int:campaign_id>/fallback"): "write",
    ("GET", "/calendar"): "read",
    ("POST", "/first-steps/dry-run"): "write",
    ("POST", "/campaigns/<int:campaign_id>/send"): "write",
    ("GET", "/campaigns/<int:campaign_id>/estimate"): "read",
    ("GET", "/campaigns/<int:campaign_id>/status"): "read",
    ("GET", "/campaigns/<int:campaign_id>/experiment"): "read",
    ("POST", "/campaigns/<int:campaign_id>/experiment"): "write",
    ("POST", "/campaigns/<int:campaign_id>/schedule"): "write",
    ("GET", "/campaigns/<int:campaign_id>/schedule/edit"): "read",
    ("POST", "/campaigns/<int:campaign_id>/schedule/edit"): "write",
    ("GET", "/campaigns/<int:campaign_id>/tracking"): "read",
    ("POST", "/campaigns/<int:campaign_id>/tracking"): "write",
    # ---- inbox, conversions, reports
    ("GET", "/inbox"): "read",
    ("POST", "/inbox/keywords"): "write",
    ("POST", "/inbox/keywords/<int:rule_id>/delete"): "write",
    ("POST", "/inbox/keywords/<int:rule_id>/enabled"): "write",
    ("GET", "/inbox/contacts/<int:contact_id>"): "read",
    ("POST", "/inbox/contacts/<int:contact_id>/answer"): "write",
    ("POST", "/inbox/contacts/<int:contact_id>/assign"): "write",
    ("POST", "/inbox/contacts/<int:contact_id>/handled"): "write",
    ("POST", "/inbox/replies/<int:reply_id>/handled"): "write",
    ("GET", "/inbox/canned"): "admin",
    ("POST", "/inbox/canned"): "admin",
    ("POST", "/inbox/canned/<int:canned_id>"): "admin",
    ("POST", "/inbox/canned/<int:canned_id>/delete"): "admin",
    ("GET", "/conversions"): "read",
    ("POST", "/conversions/import"): "write",
    ("POST", "/conversions/rfm"): "write",
    ("GET", "/reports"): "read",
    ("GET", "/reports/overview.xlsx"): "read",
    ("GET", "/reports/overview/<key>.csv"): "read",
    ("GET", "/reports/campaigns/<int:campaign_id>"): "read",
    ("GET", "/reports/campaigns/<int:campaign_id>.json"): "read",
    ("GET", "/reports/campaigns/<int:campaign_id>.xlsx"): "read",
    ("GET", "/reports/campaigns/<int:campaign_id>/<key>.csv"): "read",
    ("GET", "/reports/campaigns/<int:campaign_id>/print"): "read",
    ("GET", "/reports/campaigns/<int:campaign_id>/runs/<int:run_id>"): "read",
    ("POST", "/reports/campaigns/<int:campaign_id>/costs"): "write",
    ("POST", "/reports/campaigns/<int:campaign_id>/costs/<int:cost_id>/delete"): "write",
    ("POST", "/reports/campaigns/<int:campaign_id>/winner"): "write",
    # ---- settings
    ("GET", "/settings"): "read",
    ("GET", "/settings/custom-fields"): "read",
    ("POST", "/settings/custom-fields"): "write",
    ("GET", "/settings/custom-fields/<int:field_id>"): "read",
    ("POST", "/settings/custom-fields/<int:field_id>"): "write",
    ("POST", "/settings/custom-fields/<int:field_id>/delete"): "write",
    ("GET", "/settings/rate-plans"): "read",
    ("POST", "/settings/rate-plans"): "write",
    ("POST", "/settings/rate-plans/<int:plan_id>/end"): "write",
    ("GET", "/settings/suppressions"): "read",
    ("POST", "/settings/suppressions"): "write",
    ("POST", "/settings/suppressions/<int:suppression_id>/delete"): "write",
    ("GET", "/users"): "admin",
    ("POST", "/users"): "admin",
    ("POST", "/users/token"): "admin",
    ("POST", "/users/<int:user_id>/active"): "admin",
    ("POST", "/users/<int:user_id>/role"): "admin",
    # ---- the JSON API (bearer tokens)
    ("GET", "/api/v1/campaigns"): "read",
    ("POST", "/api/v1/campaigns"): "write",
    ("GET", "/api/v1/campaigns/<int:campaign_id>"): "read",
    ("PATCH", "/api/v1/campaigns/<int:campaign_id>"): "write",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/approve"): "approve",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/reject"): "approve",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/submit"): "write",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/cancel"): "write",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/pause"): "write",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/resume"): "write",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/fallback"): "write",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/send"): "write",
    ("GET", "/api/v1/campaigns/<int:campaign_id>/estimate"): "read",
    ("GET", "/api/v1/campaigns/<int:campaign_id>/report"): "read",
    ("GET", "/api/v1/campaigns/<int:campaign_id>/runs"): "read",
    ("GET", "/api/v1/campaigns/<int:campaign_id>/runs/<int:run_id>/report"): "read",
    ("GET", "/api/v1/campaigns/<int:campaign_id>/schedule"): "read",
    ("PUT", "/api/v1/campaigns/<int:campaign_id>/schedule"): "write",
    ("POST", "/api/v1/campaigns/<int:campaign_id>/schedule"): "write",
    ("GET", "/api/v1/campaigns/<int:campaign_id>/status"): "read",
    ("GET", "/api/v1/campaigns/<int:campaign_id>/tracking"): "read",
    ("PUT", "/api/v1/campaigns/<int:campaign_id>/tracking"): "write",
    ("GET", "/api/v1/campaigns/<int:campaign_id>/transitions"): "read",
    ("GET", "/api/v1/contacts"): "read",
    ("POST", "/api/v1/contacts"): "write",
    ("GET", "/api/v1/contacts/<int:contact_id>"): "read",
    ("PATCH", "/api/v1/contacts/<int:contact_id>"): "write",
    ("DELETE", "/api/v1/contacts/<int:contact_id>"): "write",
    ("GET", "/api/v1/contacts/<int:contact_id>/consent"): "read",
    ("POST", "/api/v1/contacts/<int:contact_id>/consent"): "write",
    ("GET", "/api/v1/contacts/<int:contact_id>/timeline"): "read",
    ("POST", "/api/v1/contacts/bulk"): "write",
    ("GET", "/api/v1/contacts/export"): "read",
    ("POST", "/api/v1/contacts/import"): "write",
    ("POST", "/api/v1/conversions"): "write",
    ("POST", "/api/v1/conversions/import"): "write",
    ("POST", "/api/v1/events"): "write",
    ("POST", "/api/v1/events/batch"): "write",
    ("GET", "/api/v1/journeys"): "read",
    ("POST", "/api/v1/journeys"): "write",
    ("GET", "/api/v1/journeys/<int:journey_id>"): "read",
    ("PUT", "/api/v1/journeys/<int:journey_id>"): "write",
    ("POST", "/api/v1/journeys/<int:journey_id>/activate"): "write",
    ("POST", "/api/v1/journeys/<int:journey_id>/pause"): "write",
    ("POST", "/api/v1/journeys/<int:journey_id>/stop"): "write",
    ("GET", "/api/v1/journeys/<int:journey_id>/stats"): "read",
    ("GET", "/api/v1/custom-fields"): "read",
    ("POST", "/api/v1/custom-fields"): "write",
    ("PATCH", "/api/v1/custom-fields/<int:field_id>"): "write",
    ("DELETE", "/api/v1/custom-fields/<int:field_id>"): "write",
    ("GET", "/api/v1/holidays"): "read",
    ("GET", "/api/v1/keyword-rules"): "read",
    ("POST", "/api/v1/keyword-rules"): "write",
    ("GET", "/api/v1/keyword-rules/<int:rule_id>"): "read",
    ("PATCH", "/api/v1/keyword-rules/<int:rule_id>"): "write",
    ("DELETE", "/api/v1/keyword-rules/<int:rule_id>"): "write",
    ("GET", "/api/v1/replies"): "read",
    ("GET", "/api/v1/replies/<int:reply_id>"): "read",
    ("POST", "/api/v1/replies/<int:reply_id>/answer"): "write",
    ("POST", "/api/v1/replies/<int:reply_id>/assign"): "write",
    ("POST", "/api/v1/replies/<int:reply_id>/handled"): "write",
    ("GET", "/api/v1/lists"): "read",
    ("POST", "/api/v1/lists"): "write",
    ("GET", "/api/v1/segments"): "read",
    ("POST", "/api/v1/segments"): "write",
    ("GET", "/api/v1/segments/<int:segment_id>"): "read",
    ("PUT", "/api/v1/segments/<int:segment_id>"): "write",
    ("POST", "/api/v1/segments/count"): "read",
    ("GET", "/api/v1/suppressions"): "read",
    ("POST", "/api/v1/suppressions"): "write",
    ("DELETE", "/api/v1/suppressions/<int:suppression_id>"): "write",
    ("GET", "/api/v1/tags"): "read",
    ("DELETE", "/api/v1/tags/<int:tag_id>"): "write",
    ("GET", "/api/v1/templates"): "read",
    ("POST", "/api/v1/templates"): "write",
    ("GET", "/api/v1/templates/<int:template_id>"): "read",
    ("PUT", "/api/v1/templates/<int:template_id>"): "write",
    ("POST", "/api/v1/templates/preview"): "read",
}

# Requests that end or undo what later requests need run last, in this order.
LAST = ("/delete", "DELETE ", "/cancel", "/stop", "/logout")
# Query strings a GET needs to name what it reads.
QUERIES = {"/api/v1/holidays": "?country=CN"}
# Routes whose answer is the login page: setup once a user exists, and logging out (here or everywhere).
LEAD_TO_LOGIN = {"/setup", "/logout", "/logout/everywhere"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
CSRF_REFUSAL = "The form had expired or came from another site"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    endpoint: str

    @property
    def is_api(self) -> bool:
        return self.rule.startswith("/api/")

    def order(self) -> tuple[int, str]:
        text = f"{self.method} {self.rule}"
        last = next((i for i, marker in enumerate(LAST) if marker in text), -1)
        return last + 1, text


@dataclass
class Caller:
    role: str
    client: FlaskClient
    csrf_token: str
    api_token: str


def routes(app: Flask) -> list[Route]:
    found = {Route(method, rule.rule, rule.endpoint)
             for rule in app.url_map.iter_rules() for method in (rule.methods or ()) - IGNORED_METHODS}
    return sorted(found, key=Route.order)


# ---------------------------------------------------------------- the app and its objects
@pytest.fixture
def app(config, database, clock) -> Flask:
    """CSRF stays on: the page forms are posted with a real token, as a browser would."""
    return create_app(config, database=database, clock=clock)


@pytest.fixture
def objects(app, database, config, clock) -> dict[str, str]:
    """One object of each kind, so every path parameter names something that exists."""
    now = clock.now()
    with database.session() as s:
        admin = create_user(s, email="admin@example.com", password=PASSWORD, role="admin", name="Admin")
        contact = create_contact(s, default_region="US", now=now, email="ann@example.com", phone="+12015550101",
                                 first_name="Ann", tags=["vip"])
        date = add_contact_date(s, contact.id, kind="birthday", when="1990-05-04")
        contact_list = create_list(s, "Customers", now=now)
        add_to_list(s, contact_list.id, [contact.id], now=now)
        segment = create_segment(s, name="VIP", rules={"all": [{"field": "first_name", "op": "eq", "value": "Ann"}]},
                                 now=now)
        field = create_custom_field(s, key="tier", label="Tier", type="text", now=now)
        template = create_template(s, name="Hello", channel="sms", body="Hi {{ contact.first_name }}", now=now)
        campaign = create_campaign(s, name="Spring", channel="sms", template_id=template.id,
                                   list_id=contact_list.id, now=now, created_by=admin.id)
        run = send_campaign(s, campaign.id, now=now, channel_description="scripted://routes", dry_run=False)
        cost = add_fixed_cost(s, campaign.id, label="Design", amount="10", currency="USD", now=now)
        rule = create_keyword_rule(s, keyword="JOIN", action="tag", tag="joined", reply_text="Welcome",
                                   config=config.replies, now=now)
        question = record_reply(s, InboundSms("twilio", "SMroutes1", "+12015550101", "+15005550006", "Open today?"),
                                config=config.replies, default_region="US", now=now)
        canned = save_canned_reply(s, title="Hours", body="10:00-18:00", now=now)
        seed = add_seed_address(s, channel="email", address="seed@example.com", region="US", now=now)
        plan = create_rate_plan(s, channel="sms", unit_price="0.05", currency="USD",
                                effective_from=now - timedelta(days=1), now=now)
        add_suppressions(s, ["blocked@example.com"], channel="email", default_region="US", now=now)
        suppression = list_suppressions(s).items[0]
        tag, _count = list_tags(s)[0]
        form = create_form(s, now=now, name="Fair", slug="fair", fields=[{"field": "email", "required": True}],
                           email_consent="Email me news.", list_ids=[contact_list.id])
        receipt = submit_signup(s, "fair", {"email": "mei@example.com"}, {"email"}, visitor=Visitor("127.0.0.1"),
                                config=config, now=now)
        message_id = s.scalar(select(Message.id).where(Message.run_id == run.id))
        journey = create_journey(s, name="Welcome", now=now, definition={
            "entry": [{"kind": "event", "event": "signed_up"}], "start": "hello",
            "steps": {"hello": {"kind": "send", "channel": "sms", "template_id": template.id}}})
        ids = {"contact_id": contact.id, "date_id": date.id, "list_id": contact_list.id, "segment_id": segment.id,
               "field_id": field.id, "template_id": template.id, "campaign_id": campaign.id, "run_id": run.id,
               "cost_id": cost.id, "rule_id": rule.id, "plan_id": plan.id, "suppression_id": suppression.id,
               "tag_id": tag.id, "message_id": message_id, "journey_id": journey.id, "form_id": form.id,
               "submission_id": receipt.channels and s.scalar(select(SignupSubmission.id)),
               "reply_id": question.reply_id, "canned_id": canned.id, "seed_id": seed.id,
               # The admin's own id: changing one's own role or deactivating oneself is refused, so the
               # admin's later requests still run as admin.
               "user_id": admin.id}
    values = {name: str(value) for name, value in ids.items()}
    values["sig"] = unsubscribe_url("", str(config.secret_key), ids["message_id"]).rstrip("/").rsplit("/", 1)[-1]
    values["slug"] = "fair"
    values["token"] = "not-a-real-token"
    values["key"] = "summary"
    values["filename"] = "herald.css"
    values["import_id"] = _upload_import(app)
    return values


def _upload_import(app: Flask) -> str:
    """A finished import with one rejected row (so its errors.csv exists), made through the pages by the admin."""
    client = app.test_client()
    token = _log_in(client, "admin@example.com")
    response = client.post("/contacts/import", data={
        "csrf_token": token, "file": (io.BytesIO(b"email,name\nbo@example.com,Bo\nnot-an-email,Cy\n"), "people.csv")})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    match = re.search(r"/contacts/import/([0-9a-f]{32})/columns", response.headers["Location"])
    assert match, response.headers["Location"]
    import_id = match.group(1)
    response = client.post(f"/contacts/import/{import_id}/columns", data={"csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    deadline = time.monotonic() + 20
    while client.get(f"/contacts/import/{import_id}/status").get_json()["status"] != "done":
        assert time.monotonic() < deadline, "the import did not finish in 20 s"
        time.sleep(0.05)
    return import_id


def _csrf_from(client: FlaskClient, path: str) -> str:
    match = CSRF_INPUT.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def _log_in(client: FlaskClient, email: str) -> str:
    """Log in through the form; returns a CSRF token of the logged-in session."""
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": _csrf_from(client, "/login")})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return _csrf_from(client, "/")


@pytest.fixture
def callers(app, database, objects) -> Iterator[dict[str, Caller]]:
    made: dict[str, Caller] = {}
    for role in ROLES:
        client = app.test_client()
        if role == "anonymous":
            made[role] = Caller(role, client, _csrf_from(client, "/login"), "")
            continue
        email = f"{role}-routes@example.com"
        with database.session() as s:
            user = create_user(s, email=email, password=PASSWORD, role=role, name=role.title())
            api_token = issue_api_token(s, user)
        made[role] = Caller(role, client, _log_in(client, email), api_token)
    yield made


# ---------------------------------------------------------------- calling a route
def _path(route: Route, objects: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[-1]
        assert name in objects, f"{route.rule}: no object for <{name}>; add one to the `objects` fixture"
        return objects[name]

    return re.sub(r"<([^>]+)>", value, route.rule)


def _call(caller: Caller, route: Route, path: str):
    path += QUERIES.get(route.rule, "")
    if route.is_api:
        headers = {"Authorization": f"Bearer {caller.api_token}"} if caller.api_token else {}
        if route.method == "GET":
            return caller.client.get(path, headers=headers)
        return caller.client.open(path, method=route.method, headers=headers, json={})
    if route.method == "GET":
        return caller.client.get(path)
    return caller.client.open(path, method=route.method, data={"csrf_token": caller.csrf_token})


def _verdict(route: Route, role: str, response) -> str | None:
    """None when the answer is right for this role, else what is wrong."""
    status = response.status_code
    location = response.headers.get("Location", "")
    sent_to_login = status in (301, 302, 303) and "/login" in location and "/login" not in route.rule
    if status >= 500:
        return f"server error {status}"
    need = ALLOWED[(route.method, route.rule)]
    if need == "public":
        if sent_to_login and route.rule not in LEAD_TO_LOGIN:
            return "a public route sent the caller to the login"
        return None
    if role == "anonymous":
        if route.is_api:
            return None if status == 401 else f"anonymous got {status}, expected 401"
        return None if sent_to_login else f"anonymous got {status} {location}, expected a redirect to the login"
    if need not in ABILITIES[role]:
        return None if status == 403 else f"got {status} {location}, expected 403 (needs {need})"
    if status in (401, 403) or (sent_to_login and route.rule not in LEAD_TO_LOGIN):
        return f"refused with {status} {location} though the role may ({need})"
    if route.method == "GET" and status >= 400:
        return f"got {status} for an object that exists"  # a GET of real objects must answer
    return None


# ---------------------------------------------------------------- the tests
def test_every_route_is_in_the_allow_table(app):
    missing = [f'("{r.method}", "{r.rule}"): "read|write|approve|admin|public",  # view {r.endpoint}'
               for r in routes(app) if (r.method, r.rule) not in ALLOWED]
    stale = [key for key in ALLOWED if key not in {(r.method, r.rule) for r in routes(app)}]
    assert not missing, ("routes without an entry in ALLOWED (tests/web/test_security_routes.py) — add each "
                         "with who may call it:\n" + "\n".join(missing))
    assert not stale, f"ALLOWED names routes that no longer exist — remove them: {stale}"


def test_every_api_operation_is_in_the_allow_table_and_documents_its_refusals(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    problems = []
    for path, operations in spec["paths"].items():
        rule = "/api/v1" + re.sub(r"\{([^}]+)\}", lambda m: f"<int:{m.group(1)}>", path)
        for method, operation in operations.items():
            if method == "parameters":
                continue
            key = (method.upper(), rule)
            if key not in ALLOWED:
                problems.append(f"{method.upper()} {path}: documented but not in ALLOWED (or not served)")
                continue
            responses = operation.get("responses", {})
            if ALLOWED[key] == "public":
                if operation.get("security", spec.get("security")) != []:
                    problems.append(f"{method.upper()} {path}: public but documented as needing a token")
                continue
            if "401" not in responses:
                problems.append(f"{method.upper()} {path}: needs a token but documents no 401")
            if ALLOWED[key] != "read" and "403" not in responses:
                problems.append(f"{method.upper()} {path}: needs {ALLOWED[key]} but documents no 403")
    served = {(r.method, r.rule) for r in routes(app) if r.is_api and r.rule != "/api/v1/openapi.json"}
    documented = {(m.upper(), "/api/v1" + re.sub(r"\{([^}]+)\}", lambda g: f"<int:{g.group(1)}>", p))
                  for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    problems += [f"{method} {rule}: served but not in /api/v1/openapi.json" for method, rule in served - documented]
    assert not problems, "\n".join(problems)


def test_every_route_answers_each_role_as_the_allow_table_says(app, objects, callers):
    problems = []
    for route in routes(app):
        if (route.method, route.rule) not in ALLOWED:
            continue  # reported by test_every_route_is_in_the_allow_table
        path = _path(route, objects)
        for role in ROLES:
            response = _call(callers[role], route, path)
            response.get_data()  # a streamed export holds its transaction until read and closed
            response.close()
            wrong = _verdict(route, role, response)
            if wrong:
                problems.append(f"{route.method} {path} as {role}: {wrong}")
    assert not problems, f"{len(problems)} role problems:\n" + "\n".join(problems)


def test_every_page_form_refuses_a_post_without_its_csrf_token(app, objects, callers):
    """The API, webhooks and signed public links are exempt (see web/app.py); every other POST needs the token."""
    admin = callers["admin"]
    exempt = ("/api/", "/webhooks/", "/u/", "/f/")  # /f/: sign-up forms post from other sites (web/signup_guard.py)
    problems = []
    for route in routes(app):
        if route.method == "GET" or route.rule.startswith(exempt):
            continue
        response = admin.client.open(_path(route, objects), method=route.method, data={})
        if response.status_code != 400 or CSRF_REFUSAL not in response.get_data(as_text=True):
            problems.append(f"{route.method} {route.rule}: answered {response.status_code} without a CSRF token")
    assert not problems, "\n".join(problems)


def test_a_logged_in_browser_cookie_does_not_open_the_api(app, objects, callers):
    """The API is exempt from CSRF, so only a bearer token may authenticate it: another site could make an
    admin's browser send the session cookie, never the token."""
    admin = callers["admin"]
    problems = []
    for route in routes(app):
        if not route.is_api or ALLOWED.get((route.method, route.rule)) == "public":
            continue
        response = admin.client.open(_path(route, objects) + QUERIES.get(route.rule, ""), method=route.method,
                                     json={} if route.method != "GET" else None)
        if response.status_code != 401:
            problems.append(f"{route.method} {route.rule}: answered {response.status_code} to a session cookie")
    assert not problems, "\n".join(problems)

