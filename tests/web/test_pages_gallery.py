"""The gallery, the checks and test sends in the pages: browse and copy a gallery template, see the checks next
to the preview and on the campaign page, send a test from the editor, keep a seed list."""

from __future__ import annotations

from sqlalchemy import select

from audiences import create_contact
from campaigns import create_campaign, create_template, list_templates
from campaigns.content.gallery import GalleryTemplate
from campaigns.models import TEST_KIND, Campaign, Message


def test_the_gallery_lists_the_holidays_and_a_template_is_previewed_with_its_checks_and_copied(logged_in_client,
                                                                                                 database, clock):
    with database.session() as s:
        create_contact(s, first_name="芳", last_name="王", phone="+8613800138000", default_region="CN",
                       now=clock.now())
    page = logged_in_client.get("/gallery?language=zh_CN&channel=sms").get_data(as_text=True)
    holidays = ("春节祝福", "元宵节祝福", "端午节祝福", "中秋节祝福", "国庆节祝福", "圣诞节祝福", "元旦祝福")
    for title in (*holidays, "订单确认"):
        assert title in page
    shown = logged_in_client.get("/gallery/mid_autumn?language=zh_CN&channel=sms").get_data(as_text=True)
    assert "王芳，中秋快乐！" in shown or "芳，中秋快乐！" in shown
    assert 'data-check-code="signature_placeholder"' in shown  # 【签名】 left for the marketer
    response = logged_in_client.post("/gallery/mid_autumn/copy", data={"language": "zh_CN", "channel": "sms",
                                                                       "name": "中秋问候", "signature": "【赫拉德】"})
    assert response.status_code == 303
    with database.session() as s:
        [template] = list_templates(s)
        assert template.name == "中秋问候" and template.body.startswith("【赫拉德】")


def test_the_editor_preview_returns_translated_checks_and_a_template_is_saved_to_the_gallery(logged_in_client,
                                                                                             database, clock):
    logged_in_client.post("/language", data={"locale": "zh_CN", "next": "/"})
    answer = logged_in_client.post("/templates/preview", json={"channel": "sms", "body": "It’s member day"}).json
    found = {f["code"]: f for f in answer["preview"]["checks"]}
    assert "gsm7_forced_ucs2" in found and "UCS-2" in found["gsm7_forced_ucs2"]["text"]
    assert found["sms_no_opt_out"]["text"].startswith("没有退订说明")
    assert answer["preview"]["level_labels"]["warning"] == "警告"
    with database.session() as s:
        template = create_template(s, name="VIP", channel="sms", body="【赫拉德】VIP日快乐。回复TD退订",
                                   now=clock.now())
    response = logged_in_client.post(f"/templates/{template.id}/gallery",
                                     data={"title": "VIP 日", "language": "zh_CN"})
    assert response.status_code == 303 and "/gallery/saved-" in response.headers["Location"]
    with database.session() as s:
        assert s.scalars(select(GalleryTemplate.title)).all() == ["VIP 日"]
    page = logged_in_client.get("/gallery?language=zh_CN&channel=sms").get_data(as_text=True)
    assert "本公司的模板" in page and "VIP 日" in page


def test_a_test_is_sent_from_the_editor_and_the_campaign_page_shows_the_checks(logged_in_client, database, clock):
    with database.session() as s:
        contact = create_contact(s, first_name="Ann", email="ann@example.com", default_region="US", now=clock.now())
        template = create_template(s, name="Menu", channel="email", subject="OUR NEW MENU!!!",
                                   html='<p>Hi {{ contact.first_name }}</p><img src="https://x.example/a.png">',
                                   now=clock.now())
        campaign = create_campaign(s, name="Autumn", channel="email", template_id=template.id, now=clock.now())
    page = logged_in_client.get(f"/campaigns/{campaign.id}").get_data(as_text=True)
    for code in ("email_no_unsubscribe", "image_no_alt", "spam_caps", "spam_exclamations"):
        assert f'data-check-code="{code}"' in page
    logged_in_client.post("/seeds", data={"channel": "email", "address": "Boss@Example.com", "label": "boss"})
    response = logged_in_client.post(f"/templates/{template.id}/test", data={
        "addresses": "me@example.com", "include_seeds": "1", "contact_id": str(contact.id)})
    assert response.status_code == 303
    assert "me@example.com, boss@example.com" in logged_in_client.get(response.headers["Location"]).get_data(
        as_text=True)
    with database.session() as s:
        rows = s.execute(select(Message.address, Message.contact_id, Campaign.kind)
                         .join(Campaign, Campaign.id == Message.campaign_id)).all()
        assert sorted(rows) == [("boss@example.com", contact.id, TEST_KIND), ("me@example.com", contact.id, TEST_KIND)]
    assert "Autumn" in logged_in_client.get("/campaigns").get_data(as_text=True)
    assert "Test: Menu" not in logged_in_client.get("/campaigns").get_data(as_text=True)
