"""PIPL: consent per inquiry, third-party consent, the admin's find/export/correct/erase, purge."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.database import write_transaction
from crm.extensions import db
from crm.leads.merging import merge_leads
from crm.models import Activity, Inquiry, Lead, LeadContact, OutboxMessage, PrivacyAction
from crm.privacy.service import ERASED
from crm.timeutil import utcnow
from tests.builders import (
    inquiry_form,
    inquiry_payload,
    make_api_key,
    make_inquiry,
    row_count,
    set_lead_stage,
)

PHONE = "13391219793"
E164 = "+8613391219793"
MASKED = "+86133****9793"
OTHER_PHONE = "13587654321"


def fresh(lead_id: int) -> Lead:
    db.session.rollback()
    return db.session.get(Lead, lead_id)


def all_rows(model) -> list:
    db.session.rollback()
    return list(db.session.execute(select(model).order_by(model.id)).scalars())


@pytest.fixture
def person(app):
    """One prospect: a lead from the form and a second inquiry merged into it."""
    lead = make_inquiry("form", phone=PHONE, wechat="wang_lishui", email="wang@example.com").lead
    make_inquiry(phone="+86 133-9121-9793", need="另需仓库500平", company="丽水芯联")
    return lead


@pytest.fixture
def admin_client(client, auth, admin):
    auth.login(admin)
    return client


def erase(client, phone: str = PHONE, confirm: str = "yes"):
    return client.post("/app/privacy/erase", data={"phone": phone, "confirm": confirm})


# --- find ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        PHONE,
        "133 9121 9793",
        "133-9121-9793",
        "+86 133 9121 9793",
        E164,
        "0086 133 9121 9793",
        "(+86) 133-9121-9793",
        "１３３９１２１９７９３",
    ],
)
def test_admin_finds_a_person_by_phone_in_any_format(admin_client, person, typed):
    response = admin_client.get("/app/privacy/", query_string={"phone": typed})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert person.reference in html
    assert E164 in html


def test_an_invalid_phone_is_refused_with_a_message(admin_client, person):
    response = admin_client.get("/app/privacy/", query_string={"phone": "not a phone"})
    assert response.status_code == 422
    assert "alert-danger" in response.get_data(as_text=True)


def test_a_phone_without_data_finds_nothing(admin_client, person):
    response = admin_client.get("/app/privacy/", query_string={"phone": OTHER_PHONE})
    assert response.status_code == 200
    assert person.reference not in response.get_data(as_text=True)


# --- export -------------------------------------------------------------------------------------


def test_json_export_holds_the_lead_the_inquiries_and_their_consent(admin_client, person, app):
    response = admin_client.get("/app/privacy/export.json", query_string={"phone": PHONE})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["phone"] == E164
    [lead] = data["leads"]
    assert lead["reference"] == person.reference
    assert (lead["contact"], lead["phone"], lead["wechat"]) == ("王先生", E164, "wang_lishui")
    assert lead["need"] == "求租标准厂房2000平，层高8米"
    assert lead["third_party_consent"] is False
    assert len(data["inquiries"]) == 2
    for inquiry in data["inquiries"]:
        assert inquiry["consent_at"].endswith("+00:00")
        assert inquiry["consent_notice_version"] == app.config["CRM_PRIVACY_NOTICE_VERSION"]
        assert inquiry["consent_ip"] == "127.0.0.1"
        assert "third_party_consent" in inquiry
    assert {i["phone_raw"] for i in data["inquiries"]} == {PHONE, "+86 133-9121-9793"}
    assert [a["body"] for a in data["activities"]] == ["另需仓库500平"]


def test_xlsx_export_opens_with_a_sheet_per_kind_of_record(admin_client, person):
    response = admin_client.get("/app/privacy/export.xlsx", query_string={"phone": PHONE})
    assert response.status_code == 200
    assert "personal-data.xlsx" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["leads", "inquiries", "contacts", "activities"]
    leads = list(workbook["leads"].values)
    assert "phone" in leads[0]
    assert leads[1][leads[0].index("phone")] in (E164, "'" + E164)  # "+" cells are neutralised
    inquiries = list(workbook["inquiries"].values)
    assert len(inquiries) == 3  # header and two inquiries
    assert "consent_notice_version" in inquiries[0]


def test_xlsx_export_neutralises_formula_text(admin_client):
    make_inquiry(phone=PHONE, company='=HYPERLINK("http://evil.example")')
    response = admin_client.get("/app/privacy/export.xlsx", query_string={"phone": PHONE})
    sheet = list(load_workbook(io.BytesIO(response.data))["leads"].values)
    company = sheet[1][sheet[0].index("company")]
    assert company.startswith("'=")


# --- correct ------------------------------------------------------------------------------------


def test_a_correction_on_the_lead_page_is_audited_and_exported(admin_client, admin, person):
    page = admin_client.get(f"/app/leads/{person.id}").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    fields = {"company": person.company, "email": "", "wechat": "", "credit_code": ""}
    response = admin_client.post(
        f"/app/leads/{person.id}/details",
        data={"version": version, **fields, "contact": "王建国"},
    )
    assert response.status_code in (302, 303)
    [change] = [a for a in all_rows(Activity) if a.kind == "lead_updated"]
    assert change.actor_id == admin.id
    assert change.data["changes"]["contact"] == ["王先生", "王建国"]
    data = admin_client.get("/app/privacy/export.json", query_string={"phone": PHONE}).get_json()
    assert data["leads"][0]["contact"] == "王建国"


# --- erase --------------------------------------------------------------------------------------


def test_erase_removes_contact_details_texts_and_raw_inquiries(admin_client, person):
    response = erase(admin_client)
    assert response.status_code == 303
    lead = fresh(person.id)
    assert (lead.contact, lead.need, lead.use) == (ERASED, ERASED, ERASED)
    assert (lead.email, lead.wechat, lead.tax) == (None, None, None)
    assert lead.phone != E164 and PHONE not in lead.phone
    assert lead.erased_at is not None
    assert row_count(Inquiry) == 0
    for activity in all_rows(Activity):
        assert "另需仓库" not in (activity.body or "")
        assert "王先生" not in json.dumps(activity.data, ensure_ascii=False)
    for message in all_rows(OutboxMessage):
        assert PHONE not in message.body and "王先生" not in message.body


def test_erase_closes_an_open_lead(admin_client, person):
    erase(admin_client)
    lead = fresh(person.id)
    assert lead.stage == "lost"
    assert lead.lost_reason
    assert lead.closed_at is not None


def test_erase_leaves_a_closed_lead_closed_as_it_was(admin_client, person):
    set_lead_stage(person.id, "won")
    erase(admin_client)
    assert fresh(person.id).stage == "won"


def test_erase_also_removes_extra_contacts_with_that_phone(admin_client, person):
    other = make_inquiry(phone=OTHER_PHONE).lead
    with write_transaction() as session:
        session.add(LeadContact(lead_id=other.id, name="王先生", phone=E164))
    erase(admin_client)
    assert row_count(LeadContact) == 0
    assert fresh(other.id).contact == "王先生"  # the other lead is someone else's


def test_after_erasure_nothing_is_found_for_the_phone(admin_client, person):
    erase(admin_client)
    data = admin_client.get("/app/privacy/export.json", query_string={"phone": PHONE}).get_json()
    assert (data["leads"], data["inquiries"], data["contacts"]) == ([], [], [])


def test_erase_without_the_confirmation_box_changes_nothing(admin_client, person):
    response = erase(admin_client, confirm="")
    assert response.status_code == 303
    assert fresh(person.id).contact == "王先生"
    assert row_count(Inquiry) == 2
    assert not [a for a in all_rows(PrivacyAction) if a.action == "erase"]


def test_erase_after_a_correction_leaves_no_old_value_in_the_audit_trail(
    admin_client, admin, person
):
    """Regression: the lead_updated activity kept the old and new contact after erasure."""
    from crm.leads.schemas import LeadDetailsIn
    from crm.leads.service import update_lead_details

    details = LeadDetailsIn(company=person.company, contact="王建国", wechat="wjg_2026")
    update_lead_details(person, admin, details, fresh(person.id).version, {"contact", "wechat"})
    erase(admin_client)
    for activity in all_rows(Activity):
        trace = (activity.body or "") + json.dumps(activity.data, ensure_ascii=False)
        assert not any(v in trace for v in ("王先生", "王建国", "wang_lishui", "wjg_2026"))


def test_erase_reaches_inquiries_moved_by_a_merge(admin_client, manager, person):
    """Regression: merged into a lead of another phone, the raw inquiries survived erasure."""
    kept = make_inquiry(phone=OTHER_PHONE, company=person.company, contact="李女士").lead
    merge_leads(kept.id, person.id, manager, fresh(kept.id).version, fresh(person.id).version)
    assert {i.phone for i in all_rows(Inquiry)} == {E164, "+8613587654321"}
    erase(admin_client)
    assert {i.phone for i in all_rows(Inquiry)} == {"+8613587654321"}
    [note] = [a for a in all_rows(Activity) if a.kind == "merged"]
    trace = (note.body or "") + json.dumps(note.data, ensure_ascii=False)
    assert E164 not in trace and "王先生" not in trace
    assert note.data["source_id"] == person.id
    assert fresh(kept.id).contact == "李女士"


# --- the record of what was done ----------------------------------------------------------------


def test_search_export_and_erase_are_each_recorded_with_a_masked_subject(
    admin_client, admin, person
):
    admin_client.get("/app/privacy/", query_string={"phone": PHONE})
    admin_client.get("/app/privacy/export.json", query_string={"phone": PHONE})
    admin_client.get("/app/privacy/export.xlsx", query_string={"phone": PHONE})
    erase(admin_client)
    actions = all_rows(PrivacyAction)
    assert {a.action for a in actions} == {"search", "export", "erase"}
    assert [a.action for a in actions].count("export") == 2
    for action in actions:
        assert action.subject == MASKED
        assert action.actor_id == admin.id
        assert action.created_at is not None
        recorded = action.subject + json.dumps(action.details)
        assert PHONE not in recorded and E164 not in recorded
    [erased] = [a for a in actions if a.action == "erase"]
    assert erased.details == {"leads": 1, "inquiries": 2, "contacts": 0}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/privacy/?phone=13391219793"),
        ("get", "/app/privacy/export.json?phone=13391219793"),
        ("get", "/app/privacy/export.xlsx?phone=13391219793"),
        ("post", "/app/privacy/erase"),
    ],
)
@pytest.mark.parametrize("role", ["agent", "manager"])
def test_only_admins_may_use_the_privacy_pages(client, auth, request, person, role, method, path):
    auth.login(request.getfixturevalue(role))
    response = getattr(client, method)(path, data={"phone": PHONE, "confirm": "yes"})
    assert response.status_code == 403
    assert fresh(person.id).contact == "王先生"
    assert row_count(PrivacyAction) == 0


def test_anonymous_visitors_are_sent_to_the_login_page(client, person):
    response = client.get("/app/privacy/export.json", query_string={"phone": PHONE})
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- consent ------------------------------------------------------------------------------------


def test_form_shows_the_optional_third_party_consent_box(client):
    html = client.get("/inquiry").get_data(as_text=True)
    box = re.search(r"<input[^>]*name=\"third_party_consent\"[^>]*>", html).group(0)
    assert 'type="checkbox"' in box
    assert "required" not in box


def test_third_party_consent_from_the_form_is_stored_on_inquiry_and_lead(client):
    response = client.post("/inquiry", data=inquiry_form(third_party_consent="y"))
    assert response.status_code == 303
    [inquiry] = all_rows(Inquiry)
    assert inquiry.third_party_consent is True
    assert inquiry.lead.third_party_consent is True


def test_third_party_consent_is_off_unless_ticked(client):
    client.post("/inquiry", data=inquiry_form())
    [inquiry] = all_rows(Inquiry)
    assert (inquiry.third_party_consent, inquiry.lead.third_party_consent) == (False, False)


def test_third_party_consent_from_the_api_is_stored_and_the_latest_word_counts(client):
    headers = {"X-API-Key": make_api_key()}
    first = client.post(
        "/api/v1/inquiries", json=inquiry_payload(third_party_consent=True), headers=headers
    )
    assert first.status_code == 201
    assert fresh(first.get_json()["id"]).third_party_consent is True
    second = client.post(
        "/api/v1/inquiries",
        json=inquiry_payload(need="改为求购", third_party_consent=False),
        headers=headers,
    )
    assert second.status_code == 200
    assert fresh(first.get_json()["id"]).third_party_consent is False
    assert [i.third_party_consent for i in all_rows(Inquiry)] == [True, False]


def test_each_inquiry_records_consent_time_notice_version_and_ip(client, app):
    started = utcnow()
    client.post("/inquiry", data=inquiry_form(), environ_base={"REMOTE_ADDR": "203.0.113.5"})
    client.post(
        "/inquiry",
        data=inquiry_form(need="另需办公室"),
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    inquiries = all_rows(Inquiry)
    assert [i.consent_ip for i in inquiries] == ["203.0.113.5", "198.51.100.7"]
    for inquiry in inquiries:
        assert inquiry.consent_notice_version == app.config["CRM_PRIVACY_NOTICE_VERSION"]
        assert started - timedelta(seconds=1) <= inquiry.consent_at <= utcnow()
        assert inquiry.consent_at.utcoffset() == timedelta(0)


def test_an_inquiry_without_consent_is_not_stored_at_all(client):
    form = inquiry_form()
    form.pop("consent")
    assert client.post("/inquiry", data=form).status_code == 422
    assert row_count(Inquiry) == row_count(Lead) == 0


# --- retention purge ----------------------------------------------------------------------------


def closed_lead(phone: str, days_ago: int, stage: str = "lost") -> Lead:
    lead = make_inquiry(phone=phone, need=f"求租厂房 {phone}").lead
    set_lead_stage(lead.id, stage, lost_reason="price" if stage == "lost" else None)
    with write_transaction() as session:
        session.get(Lead, lead.id).closed_at = utcnow() - timedelta(days=days_ago)
    return lead


@pytest.fixture
def retention_leads(app):
    """Past retention (lost and won), recently closed, and open for years."""
    old_lost = closed_lead("13300000001", 800)
    old_won = closed_lead("13300000002", 731, stage="won")
    recent = closed_lead("13300000003", 30)
    open_lead = make_inquiry(phone="13300000004").lead
    with write_transaction() as session:
        session.get(Lead, open_lead.id).created_at = utcnow() - timedelta(days=2000)
    return {"old": [old_lost, old_won], "kept": [recent, open_lead]}


def snapshot() -> list[tuple]:
    db.session.rollback()
    rows = db.session.execute(select(Lead).order_by(Lead.id)).scalars()
    return [(r.id, r.contact, r.phone, r.need, r.stage, r.erased_at) for r in rows]


def test_purge_dry_run_counts_and_changes_nothing(runner, retention_leads):
    before = (snapshot(), row_count(Inquiry), row_count(PrivacyAction))
    result = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 ")
    assert (snapshot(), row_count(Inquiry), row_count(PrivacyAction)) == before


def test_purge_de_identifies_closed_leads_past_retention(runner, retention_leads):
    phones = {lead.id: lead.phone for lead in retention_leads["old"]}
    stages = {lead.id: lead.stage for lead in retention_leads["old"]}
    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 ")
    for old in retention_leads["old"]:
        lead = fresh(old.id)
        assert (lead.contact, lead.need, lead.email, lead.wechat) == (ERASED, ERASED, None, None)
        assert phones[old.id] not in lead.phone
        assert lead.erased_at is not None
        assert lead.stage == stages[old.id]  # closed as it was: won stays won for reports
    remaining = {i.lead_id for i in all_rows(Inquiry)}
    assert remaining == {lead.id for lead in retention_leads["kept"]}
    [action] = all_rows(PrivacyAction)
    assert (action.action, action.subject, action.details["leads"]) == ("purge", "*", 2)


def test_purge_leaves_recent_and_open_leads_alone(runner, retention_leads):
    kept = {lead.id for lead in retention_leads["kept"]}
    before = [row for row in snapshot() if row[0] in kept]
    runner.invoke(args=["privacy", "purge"])
    assert [row for row in snapshot() if row[0] in kept] == before


def test_purge_run_twice_changes_nothing_the_second_time(runner, retention_leads):
    runner.invoke(args=["privacy", "purge"])
    after_first = (snapshot(), row_count(Inquiry), row_count(PrivacyAction))
    again = runner.invoke(args=["privacy", "purge"])
    assert again.exit_code == 0, again.output
    assert again.output.startswith("0 ")
    assert (snapshot(), row_count(Inquiry), row_count(PrivacyAction)) == after_first


def test_purge_takes_the_retention_from_the_days_option(runner, retention_leads):
    result = runner.invoke(args=["privacy", "purge", "--days", "10", "--dry-run"])
    assert result.output.startswith("3 ")
