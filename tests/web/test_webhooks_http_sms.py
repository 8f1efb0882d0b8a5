"""POST /webhooks/http-sms/status: a gateway's delivery reports, proved by the shared dr_token, forward-only."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

import campaigns
from audiences import create_contact
from campaigns.models import Message, MessageEvent
from channels import Accepted, Outgoing, open_channel
from tests.conftest import make_config
from tests.fakes.fake_http_sms import FakeHttpSms
from web.app import create_app

PATH = "/webhooks/http-sms/status"


@pytest.fixture
def gateway() -> Iterator[FakeHttpSms]:
    with FakeHttpSms() as fake:
        yield fake


@pytest.fixture
def sms_options() -> dict[str, str]:
    """Extra http-sms:// options for the app's SMS channel; a test parametrizes it to change them."""
    return {}


@pytest.fixture
def config(tmp_path, db_url, gateway, sms_options):
    return make_config(tmp_path, db_url, HERALD_CHANNELS_SMS_URL=gateway.channel_url(**sms_options))


@pytest.fixture
def client(csrf_client):
    """CSRF stays on, as in production: a gateway cannot send a CSRF token, so the webhook must not need one."""
    return csrf_client


@pytest.fixture
def sent_message(session, clock, gateway) -> Message:
    """One SMS the gateway accepted, with the gateway's own id, as the dispatcher leaves it."""
    now = clock.now()
    create_contact(session, default_region="US", now=now, phone="+12015550101", first_name="Ann")
    template = campaigns.create_template(session, name="Hi", channel="sms", body="Hi {{ contact.first_name }}",
                                         now=now)
    campaign = campaigns.create_campaign(session, name="C", channel="sms", template_id=template.id, now=now)
    campaigns.send_campaign(session, campaign.id, now=now, channel_description="http-sms://…", dry_run=False)
    message = session.scalars(select(Message)).one()
    channel = open_channel(gateway.channel_url())
    try:
        [accepted] = channel.send([Outgoing(message.id, "sms", message.address or "", body="Hi Ann")])
    finally:
        channel.close()
    assert isinstance(accepted, Accepted)
    message.status, message.provider_id, message.sent_at = "sent", accepted.provider_id, now
    session.commit()
    session.expunge(message)  # a detached snapshot: reading it never begins a transaction that blocks the app
    return message


def post_reports(client, gateway: FakeHttpSms, status: str = "DELIVRD", *, token: str | None = None,
                 in_query: bool = False, **report: str):
    reports = [r | report for r in gateway.delivery_reports(status)]
    token = gateway.dr_token if token is None else token
    if in_query:
        return client.post(f"{PATH}?token={token}", json=reports)
    return client.post(PATH, json=reports, headers={"X-Herald-Token": token})


def row_of(session, message: Message) -> tuple[str, str | None]:
    """The message's status and error code as the app left them."""
    try:
        row = session.get(Message, message.id, populate_existing=True)
        return row.status, row.error_code
    finally:
        session.rollback()  # see the app's next commit, and do not hold SQLite's write lock meanwhile


def test_a_delivrd_report_moves_a_sent_message_to_delivered(backend, client, session, gateway, sent_message):
    response = post_reports(client, gateway, "DELIVRD")
    assert response.status_code == 204, response.get_data(as_text=True)
    assert row_of(session, sent_message) == ("delivered", None)
    events = session.scalars(select(MessageEvent.type).where(MessageEvent.message_id == sent_message.id)).all()
    session.rollback()
    assert "delivered" in events


def test_the_token_may_come_as_a_query_parameter(client, session, gateway, sent_message):
    assert post_reports(client, gateway, in_query=True).status_code == 204
    assert row_of(session, sent_message)[0] == "delivered"


def test_an_undeliv_report_fails_the_message_with_the_gateways_error_code(client, session, gateway, sent_message):
    assert post_reports(client, gateway, "UNDELIV", errCode="MK:0005").status_code == 204
    assert row_of(session, sent_message) == ("failed", "MK:0005")


def test_a_form_encoded_report_is_taken_too(client, session, gateway, sent_message):
    [report] = gateway.delivery_reports("DELIVRD")
    response = client.post(PATH, data=report, headers={"X-Herald-Token": gateway.dr_token})
    assert response.status_code == 204, response.get_data(as_text=True)
    assert row_of(session, sent_message)[0] == "delivered"


@pytest.mark.parametrize("token", ["someone-elses-token", ""])
def test_a_wrong_or_missing_token_is_403_and_changes_nothing(client, session, gateway, sent_message, token):
    response = post_reports(client, gateway, token=token)
    assert response.status_code == 403
    assert response.json["error"] == "WebhookRejected"
    assert gateway.dr_token not in response.get_data(as_text=True)
    assert row_of(session, sent_message) == ("sent", None)


def test_an_unknown_status_is_400_naming_it_and_changes_nothing(client, session, gateway, sent_message):
    response = post_reports(client, gateway, "TELEPORTED")
    assert response.status_code == 400
    assert '"TELEPORTED"' in response.json["message"]
    assert row_of(session, sent_message) == ("sent", None)


def test_a_late_enroute_after_delivrd_leaves_the_message_delivered(client, session, gateway, sent_message):
    assert post_reports(client, gateway, "DELIVRD").status_code == 204
    assert post_reports(client, gateway, "ENROUTE").status_code == 204
    assert row_of(session, sent_message)[0] == "delivered"


@pytest.mark.parametrize("sms_options", [{"dr_reply": '{"code":0,"msg":"接收成功"}'}])
def test_a_taken_report_is_answered_with_the_gateways_own_acknowledgement(client, session, gateway, sent_message):
    response = post_reports(client, gateway, "DELIVRD")
    assert response.status_code == 200
    assert response.json == {"code": 0, "msg": "接收成功"}
    assert row_of(session, sent_message)[0] == "delivered"


@pytest.mark.parametrize("in_query", [False, True], ids=["token-header", "token-query"])
def test_the_fake_gateway_pushes_reports_over_http_and_herald_takes_them(csrf_app, session, gateway, sent_message,
                                                                         in_query):
    server = make_server("127.0.0.1", 0, csrf_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}{PATH}"
        assert gateway.send_delivery_reports(url, "DELIVRD", token="forged", in_query=in_query) == 403
        assert row_of(session, sent_message)[0] == "sent"
        assert gateway.send_delivery_reports(url, "DELIVRD", in_query=in_query) == 204
    finally:
        server.shutdown()
    assert row_of(session, sent_message)[0] == "delivered"


def test_http_sms_reports_are_404_when_the_sms_channel_is_not_http_sms(tmp_path, db_url, clock):
    config = make_config(tmp_path, db_url)  # SMS goes to log://
    app = create_app(config, clock=clock)
    response = app.test_client().post(PATH, json=[{"msgId": "x", "status": "DELIVRD"}],
                                      headers={"X-Herald-Token": "x"})
    assert response.status_code == 404
    assert "not http-sms://" in response.json["message"]
