"""POST /api/v1/inquiries: the intake for the park website and mini-programs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Activity, Inquiry, Lead, OutboxMessage
from tests.api.test_api_foundation import assert_error_shape
from tests.builders import inquiry_payload, make_api_key, row_count, set_lead_stage

URL = "/api/v1/inquiries"


@pytest.fixture
def api_key(app) -> dict[str, str]:
    return {"X-API-Key": make_api_key()}


@pytest.fixture
def post(client, api_key):
    """POST an inquiry (a dict is sent as JSON) with a valid API key."""

    def _post(body=None, **kwargs):
        if body is not None:
            kwargs["json"] = body
        return client.post(URL, headers=api_key, **kwargs)

    return _post


def counts() -> tuple[int, int, int]:
    return row_count(Lead), row_count(Inquiry), row_count(OutboxMessage)


def stored_leads() -> list[Lead]:
    db.session.rollback()
    return list(db.session.execute(select(Lead).order_by(Lead.id)).scalars())


# --- accepted -------------------------------------------------------------------------------


def test_new_inquiry_answers_201_with_id_reference_and_parsed(post):
    response = post(inquiry_payload())
    assert response.status_code == 201
    body = response.get_json()
    lead = stored_leads()[0]
    assert (body["id"], body["reference"]) == (lead.id, lead.reference)
    assert "merged_into" not in body


def test_answer_carries_the_requirement_parsed_from_the_text(post):
    body = post(inquiry_payload(need="求租标准厂房2000平，层高8米")).get_json()
    parsed = body["parsed"]
    assert (parsed["area_min_sqm"], parsed["area_max_sqm"]) == (1600.0, 2400.0)
    assert (parsed["kind"], parsed["deal"], parsed["ceiling_m_min"]) == ("factory", "rent", 8.0)
    assert parsed["industry"] == "semiconductor"


def test_phone_is_stored_as_e164_and_the_typed_form_is_kept(post):
    post(inquiry_payload(phone="+86 133-9121-9793"))
    inquiry = db.session.execute(select(Inquiry)).scalar_one()
    assert (inquiry.phone, inquiry.phone_raw) == ("+8613391219793", "+86 133-9121-9793")
    assert stored_leads()[0].phone == "+8613391219793"


def test_api_lead_without_source_is_marked_api(post):
    post(inquiry_payload())
    assert stored_leads()[0].source == "api"


def test_new_lead_is_assigned_and_its_owner_told_by_email(post, agent):
    post(inquiry_payload())
    lead = stored_leads()[0]
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert lead.owner_id == agent.id
    assert (message.channel, message.recipient, message.lead_id) == ("email", agent.email, lead.id)


# --- authentication -------------------------------------------------------------------------


def test_inquiry_without_api_key_answers_401(client):
    assert_error_shape(client.post(URL, json=inquiry_payload()), 401)
    assert counts() == (0, 0, 0)


def test_inquiry_with_a_wrong_api_key_answers_401(client):
    response = client.post(URL, json=inquiry_payload(), headers={"X-API-Key": "plk_wrong"})
    assert_error_shape(response, 401)
    assert counts() == (0, 0, 0)


# --- the same phone again -------------------------------------------------------------------


def test_second_inquiry_from_the_same_phone_is_merged_into_the_open_lead(post):
    first = post(inquiry_payload(phone="13391219793")).get_json()
    response = post(inquiry_payload(phone="+86 133-9121-9793", need="另需仓库500平"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["merged_into"] == first["id"]
    assert (body["id"], body["reference"]) == (first["id"], first["reference"])
    assert len(stored_leads()) == 1


def test_merged_inquiry_is_an_inquiry_activity_holding_the_new_text(post):
    first = post(inquiry_payload()).get_json()
    post(inquiry_payload(phone="+86 133-9121-9793", need="另需仓库500平", use="电商仓储"))
    activity = db.session.execute(select(Activity).where(Activity.kind == "inquiry")).scalar_one()
    assert (activity.lead_id, activity.body) == (first["id"], "另需仓库500平")
    assert activity.data["use"] == "电商仓储"


def test_merged_inquiry_is_stored_next_to_the_first(post):
    post(inquiry_payload())
    post(inquiry_payload(phone="+86 133-9121-9793", need="另需仓库500平"))
    needs = db.session.execute(select(Inquiry.need).order_by(Inquiry.id)).scalars().all()
    assert needs == [inquiry_payload()["need"], "另需仓库500平"]


def test_merged_inquiry_tells_the_owner_by_email(post, agent):
    first = post(inquiry_payload()).get_json()
    post(inquiry_payload(phone="+86 133-9121-9793", need="另需仓库500平"))
    messages = db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
    last = list(messages)[-1]
    assert (last.recipient, last.lead_id) == (agent.email, first["id"])
    assert first["reference"] in last.subject
    assert "另需仓库500平" in last.body


def test_identical_inquiry_sent_twice_is_stored_once(post):
    first = post(inquiry_payload()).get_json()
    second = post(inquiry_payload()).get_json()
    assert second["id"] == first["id"]
    assert (row_count(Lead), row_count(Inquiry)) == (1, 1)


def test_identical_inquiry_sent_twice_notifies_once(post, agent):
    post(inquiry_payload())
    post(inquiry_payload())
    assert row_count(OutboxMessage) == 1


def test_inquiry_after_the_lead_was_closed_opens_a_new_lead_linked_to_it(post):
    first = post(inquiry_payload()).get_json()
    set_lead_stage(first["id"], "lost", lost_reason="选了别的园区")
    response = post(inquiry_payload(need="重新找厂房3000平"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"] != first["id"]
    new_lead = db.session.get(Lead, body["id"])
    assert new_lead.previous_lead_id == first["id"]
    assert new_lead.stage == "new"


# --- refused: bad input ---------------------------------------------------------------------


def test_invalid_phone_answers_422_naming_the_phone_field(post):
    error = assert_error_shape(post(inquiry_payload(phone="12345")), 422)
    assert list(error["fields"]) == ["phone"]
    assert "手机号" in error["fields"]["phone"][0]


def test_missing_fields_are_each_named(post):
    error = assert_error_shape(post({"consent": True}), 422)
    assert set(error["fields"]) == {"need", "use", "company", "contact", "phone"}


def test_missing_consent_answers_422(post):
    body = inquiry_payload()
    del body["consent"]
    error = assert_error_shape(post(body), 422)
    assert list(error["fields"]) == ["consent"]


def test_consent_false_answers_422(post):
    error = assert_error_shape(post(inquiry_payload(consent=False)), 422)
    assert error["fields"]["consent"] == ["请勾选同意隐私告知后再提交。"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("company", 123), ("consent", "maybe"), ("need", ["a"]), ("use", {"x": 1}), ("phone", 133)],
)
def test_wrong_json_type_answers_422_naming_the_field(post, field, value):
    error = assert_error_shape(post(inquiry_payload(**{field: value})), 422)
    assert list(error["fields"]) == [field]


def test_need_over_2000_characters_answers_422_with_the_limit(post):
    error = assert_error_shape(post(inquiry_payload(need="厂" * 2001)), 422)
    assert error["fields"]["need"] == ["最多 2000 个字。"]


def test_property_that_does_not_exist_answers_422(post):
    error = assert_error_shape(post(inquiry_payload(property_id=424242)), 422)
    assert list(error["fields"]) == ["property_id"]


@pytest.mark.parametrize("field", ["company", "need", "contact", "phone"])
def test_nul_character_answers_422(post, field):
    error = assert_error_shape(post(inquiry_payload(**{field: "丽水\u0000有限公司"})), 422)
    assert list(error["fields"]) == [field]


@pytest.mark.parametrize("field", ["company", "need"])
def test_lone_surrogate_answers_422(post, field):
    # json.dumps writes the surrogate as the escape \\ud800, as a careless client would.
    body = json.dumps(inquiry_payload(**{field: "芯片\ud800工厂"}))
    error = assert_error_shape(post(data=body, content_type="application/json"), 422)
    assert error["fields"][field] == ["含有无法保存的字符。"]


# --- refused: not a JSON object -------------------------------------------------------------


def test_json_array_body_answers_400(post):
    assert_error_shape(post([inquiry_payload()]), 400)


def test_non_json_content_type_answers_415(post):
    assert_error_shape(post(data=inquiry_payload()), 415)


def test_malformed_json_answers_400(post):
    assert_error_shape(post(data='{"need": "厂房', content_type="application/json"), 400)


def test_json_body_that_is_not_utf8_is_refused(post):
    response = post(data=b'{"need": "\xff\xfe"}', content_type="application/json")
    assert 400 <= response.status_code < 500
    assert counts() == (0, 0, 0)


# --- a bad request changes nothing ----------------------------------------------------------

BAD_REQUESTS = {
    "invalid phone": {"json": inquiry_payload(phone="12345", need="换一个需求")},
    "no consent": {"json": inquiry_payload(consent=False, need="换一个需求")},
    "wrong types": {"json": inquiry_payload(company=123, consent="maybe", need=["a"])},
    "unknown property": {"json": inquiry_payload(property_id=424242, need="换一个需求")},
    "nul": {"json": inquiry_payload(need="换一个\u0000需求")},
    "surrogate": {
        "data": json.dumps(inquiry_payload(need="换一个\ud800需求")),
        "content_type": "application/json",
    },
    "array": {"json": [inquiry_payload(need="换一个需求")]},
    "form encoded": {"data": inquiry_payload(need="换一个需求")},
    "malformed": {"data": "{", "content_type": "application/json"},
    "not utf-8": {"data": b'{"need": "\xff"}', "content_type": "application/json"},
}


@pytest.mark.parametrize("request_kwargs", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_for_a_phone_with_an_open_lead_changes_nothing(
    client, api_key, agent, request_kwargs
):
    client.post(URL, json=inquiry_payload(), headers=api_key)
    before = counts()
    response = client.post(URL, headers=api_key, **request_kwargs)
    assert 400 <= response.status_code < 500
    assert counts() == before == (1, 1, 1)
