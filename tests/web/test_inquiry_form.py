"""The public inquiry form /inquiry: what a prospect sees, what is stored, what is refused."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from crm import create_app
from crm.extensions import db, limiter
from crm.models import Inquiry, Lead
from tests.builders import inquiry_form, make_park, make_property, row_count
from tests.conftest import config_for_tests

THANKS = re.compile(r"^/inquiry/thanks/(PL-\d{4}-\d{4,})$")
PHONE_MESSAGE = "请输入有效的手机号"
CONSENT_MESSAGE = "请勾选同意隐私告知后再提交。"
REQUIRED_MESSAGE = "此项必填。"


class _Inputs(HTMLParser):
    """Collects <input name=… value=…> and the text of <textarea> by name."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.values[found["name"]] = found.get("value") or ""
            self.types[found["name"]] = found.get("type") or "text"
        elif tag == "textarea" and found.get("name"):
            self._textarea = found["name"]
            self.values[self._textarea] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None


def form_inputs(html: str) -> _Inputs:
    parser = _Inputs()
    parser.feed(html)
    return parser


def field_block(html: str, name: str) -> str:
    """The markup from a field's input up to the next field or the button: where its errors are."""
    start = html.index(f'name="{name}"')
    ends = [i for i in (html.find('class="mb-3', start), html.find("<button", start)) if i != -1]
    return html[start : min(ends, default=len(html))]


def only_lead() -> Lead:
    db.session.rollback()
    return db.session.execute(select(Lead)).scalar_one()


def only_inquiry() -> Inquiry:
    db.session.rollback()
    return db.session.execute(select(Inquiry)).scalar_one()


def assert_nothing_stored() -> None:
    assert (row_count(Lead), row_count(Inquiry)) == (0, 0)


# --- the page -------------------------------------------------------------------------------


def test_form_page_is_in_chinese(client):
    html = client.get("/inquiry").get_data(as_text=True)
    assert "您的需求" in html
    assert "手机号" in html
    assert "提交" in html


def test_form_page_shows_the_privacy_notice_with_its_version(client, app):
    html = client.get("/inquiry").get_data(as_text=True)
    version = app.config["CRM_PRIVACY_NOTICE_VERSION"]
    assert f"隐私告知（版本 {version}）" in html
    assert "我已阅读并同意隐私告知" in html


def test_link_parameters_are_carried_into_hidden_fields(client):
    html = client.get(
        "/inquiry?property=7&source=wechat&utm_source=weixin&utm_medium=article"
        "&utm_campaign=lishui-2026"
    ).get_data(as_text=True)
    inputs = form_inputs(html)
    carried = ("property_id", "source", "utm_source", "utm_medium", "utm_campaign")
    assert {name: inputs.values[name] for name in carried} == {
        "property_id": "7",
        "source": "wechat",
        "utm_source": "weixin",
        "utm_medium": "article",
        "utm_campaign": "lishui-2026",
    }
    assert {inputs.types[name] for name in carried} == {"hidden"}


def test_non_numeric_property_parameter_is_not_carried(client):
    html = client.get("/inquiry?property=abc").get_data(as_text=True)
    assert form_inputs(html).values["property_id"] == ""


# --- a valid inquiry ------------------------------------------------------------------------


def test_valid_inquiry_answers_303_to_the_thanks_page_of_its_reference(client):
    response = client.post("/inquiry", data=inquiry_form())
    assert response.status_code == 303
    match = THANKS.match(response.headers["Location"])
    assert match is not None
    assert match.group(1) == only_lead().reference


def test_reference_has_the_form_pl_yymm_nnnn(client):
    client.post("/inquiry", data=inquiry_form())
    lead = only_lead()
    assert lead.reference == f"PL-{lead.created_at:%y%m}-{lead.id:04d}"


def test_thanks_page_shows_the_reference(client):
    location = client.post("/inquiry", data=inquiry_form()).headers["Location"]
    html = client.get(location).get_data(as_text=True)
    assert only_lead().reference in html


def test_thanks_page_of_a_malformed_reference_is_not_found(client):
    assert client.get("/inquiry/thanks/<script>").status_code == 404


def test_inquiry_is_stored_with_what_the_prospect_typed(client):
    client.post("/inquiry", data=inquiry_form(phone="133 9121 9793"))
    inquiry = only_inquiry()
    assert (inquiry.channel, inquiry.phone_raw, inquiry.phone) == (
        "form",
        "133 9121 9793",
        "+8613391219793",
    )
    assert inquiry.need == inquiry_form()["need"]


def test_consent_time_and_notice_version_are_stored(client, app):
    client.post("/inquiry", data=inquiry_form())
    inquiry = only_inquiry()
    assert inquiry.consent_at is not None
    assert inquiry.consent_notice_version == app.config["CRM_PRIVACY_NOTICE_VERSION"]


def test_link_parameters_are_stored_on_the_lead(client):
    prop = make_property(make_park())
    client.post(
        "/inquiry",
        data=inquiry_form(
            property_id=str(prop.id),
            source="wechat",
            utm_source="weixin",
            utm_medium="article",
            utm_campaign="lishui-2026",
        ),
    )
    lead = only_lead()
    assert (lead.inquired_property_id, lead.park_id) == (prop.id, prop.park_id)
    assert (lead.source, lead.utm_source, lead.utm_medium, lead.utm_campaign) == (
        "wechat",
        "weixin",
        "article",
        "lishui-2026",
    )


def test_form_lead_without_source_is_marked_website(client):
    client.post("/inquiry", data=inquiry_form())
    assert only_lead().source == "website"


def test_need_of_exactly_2000_characters_is_accepted(client):
    response = client.post("/inquiry", data=inquiry_form(need="厂" * 2000))
    assert response.status_code == 303
    assert len(only_lead().need) == 2000


# --- refused inquiries ----------------------------------------------------------------------


def test_invalid_phone_is_refused_with_the_message_next_to_the_phone_field(client):
    response = client.post("/inquiry", data=inquiry_form(phone="12345"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert PHONE_MESSAGE in field_block(html, "phone")
    assert PHONE_MESSAGE not in field_block(html, "company")


def test_invalid_phone_stores_nothing(client):
    client.post("/inquiry", data=inquiry_form(phone="12345"))
    assert_nothing_stored()


def test_missing_consent_is_refused_with_a_message(client):
    response = client.post("/inquiry", data=inquiry_form(consent=False))
    assert response.status_code == 422
    assert CONSENT_MESSAGE in field_block(response.get_data(as_text=True), "consent")


def test_missing_consent_stores_nothing(client):
    client.post("/inquiry", data=inquiry_form(consent=False))
    assert_nothing_stored()


def test_need_over_2000_characters_is_refused(client):
    response = client.post("/inquiry", data=inquiry_form(need="厂" * 2001))
    assert response.status_code == 422
    assert "最多 2000 个字。" in field_block(response.get_data(as_text=True), "need")
    assert_nothing_stored()


def test_blank_required_fields_are_refused(client):
    response = client.post("/inquiry", data=inquiry_form(company="   ", contact=""))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert REQUIRED_MESSAGE in field_block(html, "company")
    assert REQUIRED_MESSAGE in field_block(html, "contact")
    assert_nothing_stored()


def test_entered_values_survive_a_validation_error(client):
    response = client.post(
        "/inquiry", data=inquiry_form(phone="12345", company="丽水精工机械有限公司")
    )
    values = form_inputs(response.get_data(as_text=True)).values
    assert values["company"] == "丽水精工机械有限公司"
    assert values["phone"] == "12345"
    assert values["need"].strip() == inquiry_form()["need"]


def test_non_utf8_body_is_refused_without_a_server_error(client):
    response = client.post(
        "/inquiry", data=b"need=\xff\xfe", content_type="application/x-www-form-urlencoded"
    )
    assert 400 <= response.status_code < 500
    assert_nothing_stored()


# --- hostile text ---------------------------------------------------------------------------


def test_markup_is_stored_exactly_as_typed(client):
    company = '<script>alert("x")</script>有限公司'
    need = '<img src=x onerror="alert(1)"> 求租厂房2000平'
    client.post("/inquiry", data=inquiry_form(company=company, need=need))
    lead = only_lead()
    assert (lead.company, lead.need) == (company, need)


def test_markup_is_shown_escaped_on_the_staff_lead_page(client, auth, manager):
    client.post("/inquiry", data=inquiry_form(company='<script>alert("x")</script>有限公司'))
    lead_id = only_lead().id
    auth.login(manager)
    html = client.get(f"/app/leads/{lead_id}").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(" in html


def test_formula_text_is_stored_exactly_as_typed(client):
    company = '=HYPERLINK("http://evil.example","点我")'
    client.post("/inquiry", data=inquiry_form(company=company, wechat="+cmd|' /C calc'!A0"))
    lead = only_lead()
    assert (lead.company, lead.wechat) == (company, "+cmd|' /C calc'!A0")


# --- links that went wrong (hidden fields the prospect cannot see or fix) -------------------


def test_overlong_source_in_a_link_does_not_block_the_inquiry(client):
    html = client.get("/inquiry?source=" + "s" * 80).get_data(as_text=True)
    carried = form_inputs(html).values["source"]
    response = client.post("/inquiry", data=inquiry_form(source=carried))
    assert response.status_code == 303
    assert row_count(Lead) == 1


def test_tampered_hidden_fields_do_not_block_the_inquiry(client):
    response = client.post(
        "/inquiry",
        data=inquiry_form(property_id="99999999999", source="x" * 300, utm_medium="a\x00b"),
    )
    assert response.status_code == 303
    lead = only_lead()
    assert lead.inquired_property_id is None
    assert lead.utm_medium is None


def test_link_to_a_property_that_no_longer_exists_still_stores_the_inquiry(client):
    response = client.post("/inquiry", data=inquiry_form(property_id="424242"))
    assert response.status_code == 303
    lead = only_lead()
    assert lead.inquired_property_id is None
    assert only_inquiry().property_id is None


@pytest.mark.parametrize("property_id", ["²", "١٢", "-1", "0x10", " 7"])
def test_odd_property_id_in_a_hidden_field_does_not_break_the_form(client, property_id):
    response = client.post("/inquiry", data=inquiry_form(property_id=property_id))
    assert response.status_code == 303
    assert only_lead().inquired_property_id is None


# --- bots and floods ------------------------------------------------------------------------


def test_filled_honeypot_redirects_to_a_thanks_page(client):
    response = client.post("/inquiry", data=inquiry_form(website="http://spam.example"))
    assert response.status_code == 303
    assert THANKS.match(response.headers["Location"])
    assert client.get(response.headers["Location"]).status_code == 200


def test_filled_honeypot_stores_nothing(client):
    client.post("/inquiry", data=inquiry_form(website="http://spam.example"))
    assert_nothing_stored()


@pytest.fixture
def rate_limited_client(app, db_url, monkeypatch):
    """A client of an app whose inquiry form allows two posts a minute.

    The limiter is one module-level object: creating this app switches it on for every app,
    so its `enabled` flag is put back afterwards and its counters are cleared both ways.
    """
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    limited = create_app(
        config_for_tests(db_url, RATELIMIT_ENABLED=True, CRM_INQUIRY_RATE_LIMIT="2 per minute")
    )
    limiter.reset()
    yield limited.test_client()
    limiter.reset()
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


def test_third_post_in_a_minute_gets_a_friendly_429_page(rate_limited_client):
    for n in range(2):
        response = rate_limited_client.post(
            "/inquiry", data=inquiry_form(phone=f"1339121980{n}", need=f"求租厂房{n + 1}000平")
        )
        assert response.status_code == 303
    response = rate_limited_client.post("/inquiry", data=inquiry_form(phone="13391219809"))
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "请求过于频繁" in html
    assert "返回首页" in html
    assert row_count(Lead) == 2
