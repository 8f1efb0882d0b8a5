"""The approver reads each variant rendered for a recipient, and may not approve what they submitted
unless [approval] allow_self_approval (issue 11, hole 6)."""

from __future__ import annotations

from campaigns.ab_test import VariantSpec, set_ab_test
from tests.conftest import make_config
from tests.web.test_api import Api
from web.app import create_app


def _app(tmp_path, db_url, database, clock, **env):
    app = create_app(make_config(tmp_path, db_url, HERALD_APPROVAL_REQUIRED="true", **env), database=database,
                     clock=clock)
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _pending_ab_campaign(api, session):
    assert api.post("/contacts", json={"first_name": "Mei", "phone": "+12015550101"}).status_code == 201
    a = api.post("/templates", json={"name": "Plain", "channel": "sms", "body": "Hi {{ contact.first_name }}"}).json
    b = api.post("/templates", json={"name": "Warm", "channel": "sms",
                                     "body": "Dear {{ contact.first_name | upper }}, 20% off"}).json
    campaign = api.post("/campaigns", json={"name": "Member day", "channel": "sms", "template_id": a["id"]}).json
    set_ab_test(session, campaign["id"], variants=[VariantSpec("A", a["id"]), VariantSpec("B", b["id"])])
    assert api.post(f"/campaigns/{campaign['id']}/submit").status_code == 200
    return campaign


def test_the_approver_sees_every_variant_rendered_not_the_template(backend, tmp_path, db_url, database, clock,
                                                                   session, api_token, login):
    app = _app(tmp_path, db_url, database, clock)
    client = app.test_client()
    campaign = _pending_ab_campaign(Api(client, api_token("marketer")), session)
    login(client, "approver")
    page = client.get(f"/campaigns/{campaign['id']}").get_data(as_text=True)
    assert "Hi Mei" in page
    assert "Dear MEI, 20% off" in page
    assert "{{ contact.first_name" not in page.split('id="approval"')[1].split("</form>")[0]


def test_whoever_submitted_may_not_approve_unless_self_approval_is_allowed(backend, tmp_path, db_url, database,
                                                                          clock, session, api_token):
    admin_token = api_token("admin")
    admin = Api(_app(tmp_path, db_url, database, clock).test_client(), admin_token)
    campaign = _pending_ab_campaign(admin, session)
    refused = admin.post(f"/campaigns/{campaign['id']}/approve")
    assert refused.status_code == 403
    assert "allow_self_approval" in refused.json["message"]
    relaxed = Api(_app(tmp_path, db_url, database, clock, HERALD_APPROVAL_ALLOW_SELF_APPROVAL="true").test_client(),
                  admin_token)
    approved = relaxed.post(f"/campaigns/{campaign['id']}/approve")
    assert approved.status_code == 200 and approved.json["status"] == "scheduled"


def test_a_variant_template_of_a_pending_campaign_is_locked_over_the_api(tmp_path, db_url, database, clock, session,
                                                                          api_token):
    api = Api(_app(tmp_path, db_url, database, clock).test_client(), api_token("marketer"))
    campaign = _pending_ab_campaign(api, session)
    templates = api.get("/templates").json["items"]
    warm = next(t for t in templates if t["name"] == "Warm")
    response = api.put(f"/templates/{warm['id']}", json={"body": "Something else"})
    assert response.status_code == 409
    assert f"campaign {campaign['id']}" in response.json["message"]


def test_the_approver_reads_an_sms_with_what_the_channel_adds(tmp_path, db_url, database, clock, session, api_token,
                                                              login):
    # An http-sms signature (【签名】) is part of what the recipient gets, so it is part of what is approved.
    from tests.fakes.fake_http_sms import FakeHttpSms

    with FakeHttpSms() as gateway:
        app = _app(tmp_path, db_url, database, clock,
                   HERALD_CHANNELS_SMS_URL=gateway.channel_url(signature="【花店】"))
        client = app.test_client()
        campaign = _pending_ab_campaign(Api(client, api_token("marketer")), session)
        login(client, "approver")
        page = client.get(f"/campaigns/{campaign['id']}").get_data(as_text=True)
    approval = page.split('id="approval"')[1].split("</form>")[0]
    assert "【花店】Hi Mei" in approval and "【花店】Dear MEI, 20% off" in approval
