"""Sign-up forms on the web: the builder, the hosted page in the form's language under the public CSP, the
spam checks (time token, honeypot, rate limits), the same answer for a known and a new address, the
confirmation link (GET shows, POST confirms) and the SMS code box; the QR code and the embeddable snippet."""

from __future__ import annotations

import re

from limits import parse
from sqlalchemy import func, select

from audiences import create_contact, create_list, current_consents
from campaigns.signups import confirmation_code, confirmation_url
from campaigns.signups.models import SignupSubmission
from web.signup_guard import SignupThrottle

TOKEN = re.compile(r'name="_t" value="([^"]+)"')


def _build(client, database, clock, **extra):
    with database.session() as session:
        fair = create_list(session, "Spring fair", now=clock.now()).id
    data = {"name": "Fair", "slug": "fair", "language": "zh_CN", "title": "茶馆新闻", "ask:email": "1",
            "label:email": "邮箱", "required:email": "1", "ask:first_name": "1", "label:first_name": "名字",
            "ask:phone": "1", "label:phone": "手机", "list_id": str(fair), "email_consent": "我同意接收邮件。",
            "sms_consent": "我同意接收短信。", "active": "1", **extra}
    response = client.post("/forms/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return response.headers["Location"]


def _count(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(SignupSubmission))


def test_the_builder_makes_a_form_with_its_link_qr_code_and_snippet(logged_in_client, database, clock):
    location = _build(logged_in_client, database, clock)
    page = logged_in_client.get(location).get_data(as_text=True)
    assert "/f/fair" in page and 'id="qr"' in page
    assert "&lt;form method=&#34;post&#34;" in page or "&lt;form method=&quot;post&quot;" in page  # escaped snippet
    assert 'name="website"' in page.replace("&#34;", '"').replace("&quot;", '"')  # the snippet's honeypot
    svg = logged_in_client.get(location + "/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    png = logged_in_client.get(location + "/qr.png")
    assert png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Fair" in logged_in_client.get("/forms").get_data(as_text=True)
    refused = logged_in_client.post("/forms/new", data={"name": "Other", "slug": "fair", "ask:email": "1",
                                                        "email_consent": "ok"})
    assert refused.status_code == 422 and "taken" in refused.get_data(as_text=True)


def test_the_hosted_page_speaks_the_forms_language_and_a_quick_or_tokenless_post_comes_back_to_check(
        logged_in_client, client, database, clock):
    _build(logged_in_client, database, clock)
    public = client.application.test_client()
    page = public.get("/f/fair")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="zh-CN"' in html and "茶馆新闻" in html and "订阅" in html
    assert "default-src 'none'" in page.headers["Content-Security-Policy"] and "<script" not in html
    token = TOKEN.search(html).group(1)
    quick = public.post("/f/fair", data={"_t": token, "email": "mei@example.com", "consent": "email"})
    assert "请核对您的信息" in quick.get_data(as_text=True) and _count(database) == 0
    embedded = public.post("/f/fair", data={"email": "mei@example.com", "consent": "email"})  # the snippet: no _t
    assert 'value="mei@example.com"' in embedded.get_data(as_text=True) and _count(database) == 0
    clock.advance(seconds=5)
    bad = public.post("/f/fair", data={"_t": token, "email": "not-an-email"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请输入有效的邮箱地址" in body and "请至少勾选一项以订阅" in body


def test_known_and_new_addresses_get_the_same_page_and_the_link_confirms_only_by_post(
        logged_in_client, client, app, database, clock, config):
    _build(logged_in_client, database, clock)
    with database.session() as session:
        ann = create_contact(session, default_region="US", now=clock.now(), email="ann@example.com").id
    public = app.test_client()
    token = TOKEN.search(public.get("/f/fair").get_data(as_text=True)).group(1)
    clock.advance(seconds=5)
    known = public.post("/f/fair", data={"_t": token, "email": "ann@example.com", "consent": "email"})
    new = public.post("/f/fair", data={"_t": token, "email": "bo@example.com", "consent": "email"})
    assert known.status_code == new.status_code == 200 and known.data == new.data
    assert "我们已给您发送了一封邮件" in new.get_data(as_text=True) and _count(database) == 2
    trap = public.post("/f/fair", data={"_t": token, "email": "robot@example.com", "consent": "email",
                                        "website": "http://spam.example"})
    assert trap.data == new.data and _count(database) == 2  # the honeypot: same page, nothing done
    with database.session() as session:
        submission = session.scalars(select(SignupSubmission).where(SignupSubmission.contact_id != ann)).one()
        bo = submission.contact_id
        assert current_consents(session, bo)["email"].status == "pending"
    link = confirmation_url("", str(config.secret_key), submission.id)
    assert public.get(link).status_code == 200
    with database.session() as session:
        assert current_consents(session, bo)["email"].status == "pending"  # a scanner's GET changes nothing
    assert public.get(link[:-1] + ("0" if link[-1] != "0" else "1")).status_code == 404
    confirmed = public.post(link)
    assert confirmed.status_code == 200 and "您已订阅" in confirmed.get_data(as_text=True)
    with database.session() as session:
        assert current_consents(session, bo)["email"].status == "subscribed"


def test_rate_limits_per_address_and_per_ip(logged_in_client, app, database, clock):
    _build(logged_in_client, database, clock)
    app.extensions["herald.signup_throttle"] = SignupThrottle(per_ip=parse("5 per hour"),
                                                              per_address=parse("2 per hour"))
    public = app.test_client()
    token = TOKEN.search(public.get("/f/fair").get_data(as_text=True)).group(1)
    clock.advance(seconds=5)
    answers = [public.post("/f/fair", data={"_t": token, "email": "mei@example.com", "consent": "email"})
               for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200] and answers[2].data == answers[0].data
    assert _count(database) == 2  # the third was answered the same and sent nobody anything
    more = [public.post("/f/fair", data={"_t": token, "email": f"p{n}@example.com", "consent": "email"})
            for n in range(3)]
    assert [a.status_code for a in more] == [200, 200, 429] and "Retry-After" in more[2].headers


def test_an_sms_sign_up_is_confirmed_by_the_code_typed_on_the_page(logged_in_client, app, database, clock, config):
    _build(logged_in_client, database, clock)
    public = app.test_client()
    token = TOKEN.search(public.get("/f/fair").get_data(as_text=True)).group(1)
    clock.advance(seconds=5)
    sent = public.post("/f/fair", data={"_t": token, "email": "mei@example.com", "phone": "+12015550199",
                                        "consent": "sms"}).get_data(as_text=True)
    ref = re.search(r'name="ref" value="([^"]+)"', sent).group(1)
    submission_id = int(ref.split(".")[0])
    wrong = public.post("/f/fair/code", data={"ref": ref, "code": "abc"})
    assert wrong.status_code == 422 and "还可以再试 4 次" in wrong.get_data(as_text=True)
    forged = public.post("/f/fair/code", data={"ref": f"{submission_id}.0000", "code": "123456"})
    assert forged.status_code == 422
    right = public.post("/f/fair/code", data={"ref": ref,
                                              "code": confirmation_code(str(config.secret_key), submission_id)})
    assert right.status_code == 200 and "您已订阅" in right.get_data(as_text=True)
