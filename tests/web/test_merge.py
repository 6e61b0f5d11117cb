"""Possible duplicate leads on the lead page and the manager's merge of two leads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import render_template_string
from flask_login import current_user, login_required
from sqlalchemy import select

from crm.database import write_transaction
from crm.exceptions import NotAllowed, ValidationFailed
from crm.extensions import db
from crm.inquiry.schemas import InquiryIn
from crm.inquiry.service import InquiryContext, submit_inquiry
from crm.leads.activities import log_activity, schedule_follow_up
from crm.leads.merging import find_possible_duplicates, merge_leads
from crm.leads.service import get_lead_or_404, reparse_requirement
from crm.models import Activity, FollowUp, Inquiry, Lead, LeadContact, User
from crm.timeutil import utcnow
from tests.builders import set_lead_stage
from tests.conftest import PASSWORD

CODE = "91331100MA28H3QK5E"
OTHER_CODE = "91350100M000100Y43"


def new_lead(phone: str, **fields: object) -> Lead:
    """A lead opened through the real intake; keyword arguments replace inquiry fields."""
    payload = {
        "need": "求租标准厂房2000平，层高8米",
        "use": "半导体封装测试",
        "company": "浙江芯源半导体有限公司",
        "contact": "王先生",
        "phone": phone,
        "consent": True,
        **fields,
    }
    result = submit_inquiry(InquiryIn.model_validate(payload), InquiryContext("api", "127.0.0.1"))
    assert result.created
    return result.lead


def update_lead(lead_id: int, **values: object) -> None:
    """Set columns straight in the database: test set-up only."""
    with write_transaction() as session:
        lead = session.get(Lead, lead_id)
        for name, value in values.items():
            setattr(lead, name, value)


def add_contact(lead_id: int, name: str, phone: str) -> None:
    with write_transaction() as session:
        session.add(LeadContact(lead_id=lead_id, name=name, phone=phone))


def fresh(lead_id: int) -> Lead:
    """The lead as the database has it now (requests ran in their own sessions)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Lead, lead_id)


def merge_url(target: Lead, source: Lead) -> str:
    return f"/app/leads/{target.id}/merge/{source.id}"


def post_merge(client, target: Lead, source: Lead, **overrides: object):
    target, source = fresh(target.id), fresh(source.id)
    data = {"target_version": target.version, "source_version": source.version, **overrides}
    return client.post(merge_url(target, source), data=data)


@pytest.fixture
def pair(app, agent):
    """Two leads of one company: the kept one first, the one merged away second."""
    kept = new_lead("13391219793", email="wang@example.com")
    away = new_lead(
        "13905781234",
        company="浙江芯源半导体股份有限公司",
        contact="李工",
        email="li@example.com",
        wechat="li_xinyuan",
        need="求购工业用地30亩",
    )
    return kept, away


# --- possible duplicates -----------------------------------------------------------------


def test_duplicates_match_on_credit_code_email_and_company_name(app, manager):
    lead = new_lead("13391219793", email="Wang@Example.com")
    same_name = new_lead("13905781234", company="浙江 芯源半导体（集团）")
    same_email = new_lead("13905781235", company="杭州另一家有限公司", email="wang@example.com")
    same_code = new_lead("13905781236", company="丽水某某科技有限公司")
    new_lead("13905781237", company="温州无关机械有限公司", email="other@example.com")
    update_lead(lead.id, credit_code=CODE)
    update_lead(same_code.id, credit_code=CODE)

    found = {d.lead.id: d.reasons for d in find_possible_duplicates(fresh(lead.id), manager)}

    assert found == {
        same_name.id: ("company",),
        same_email.id: ("email",),
        same_code.id: ("credit_code",),
    }


def test_duplicates_list_every_reason_and_put_the_closest_first(app, manager):
    lead = new_lead("13391219793", email="wang@example.com")
    name_only = new_lead("13905781234")
    everything = new_lead("13905781235", email="WANG@example.com")
    update_lead(lead.id, credit_code=CODE)
    update_lead(everything.id, credit_code=CODE)

    duplicates = find_possible_duplicates(fresh(lead.id), manager)

    assert [d.lead.id for d in duplicates] == [everything.id, name_only.id]
    assert duplicates[0].reasons == ("credit_code", "email", "company")
    assert len(duplicates[0].reason_labels) == 3


def test_duplicates_leave_out_merged_leads_and_different_companies(app, manager, pair):
    kept, away = pair
    third = new_lead("13905781299", company="浙江芯源半导体集团")
    unrelated = new_lead("13905781298", company="温州无关机械有限公司")
    merge_leads(kept.id, away.id, manager, fresh(kept.id).version, fresh(away.id).version)

    ids = [d.lead.id for d in find_possible_duplicates(fresh(kept.id), manager)]

    assert ids == [third.id]
    assert unrelated.id not in ids
    assert find_possible_duplicates(fresh(away.id), manager) == []


def test_closed_leads_are_still_flagged_as_duplicates(app, manager, pair):
    kept, away = pair
    set_lead_stage(away.id, "lost", "价格")
    assert [d.lead.id for d in find_possible_duplicates(fresh(kept.id), manager)] == [away.id]


def test_agents_see_only_duplicates_they_may_see(app, agent, other_agent, manager):
    lead = new_lead("13391219793")
    theirs = new_lead("13905781234")
    unassigned = new_lead("13905781235")
    mine = new_lead("13905781236")
    update_lead(lead.id, owner_id=agent.id)
    update_lead(theirs.id, owner_id=other_agent.id)
    update_lead(unassigned.id, owner_id=None)
    update_lead(mine.id, owner_id=agent.id)

    seen_by_agent = {d.lead.id for d in find_possible_duplicates(fresh(lead.id), agent)}
    seen_by_manager = {d.lead.id for d in find_possible_duplicates(fresh(lead.id), manager)}

    assert seen_by_agent == {unassigned.id, mine.id}
    assert seen_by_manager == {theirs.id, unassigned.id, mine.id}


def test_duplicates_are_capped_at_twenty(app, manager):
    lead = new_lead("13391219700")
    for n in range(22):
        new_lead(f"133912197{n + 10}")
    assert len(find_possible_duplicates(fresh(lead.id), manager)) == 20


# --- the partial on the lead page ----------------------------------------------------------


@pytest.fixture
def page_client(fresh_app):
    """A client of an app with a page that renders the partial as the lead page does."""

    @fresh_app.get("/test/leads/<int:lead_id>")
    @login_required
    def lead_with_duplicates(lead_id: int):
        lead = get_lead_or_404(lead_id, current_user)
        return render_template_string(
            '{% include "leads/_duplicates.html" %}',
            lead=lead,
            duplicates=find_possible_duplicates(lead, current_user),
        )

    return fresh_app.test_client()


def login(client, user: User) -> None:
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_lead_page_lists_duplicates_with_a_merge_link_for_managers(page_client, manager, pair):
    kept, away = pair
    login(page_client, manager)

    html = page_client.get(f"/test/leads/{kept.id}").get_data(as_text=True)

    assert "duplicates" in html and away.reference in html
    assert "浙江芯源半导体股份有限公司" in html and "duplicate-reason" in html
    assert f'href="{merge_url(kept, away)}"' in html


def test_agents_see_duplicates_without_a_merge_link(page_client, agent, pair):
    kept, away = pair
    update_lead(kept.id, owner_id=agent.id)
    update_lead(away.id, owner_id=agent.id)
    login(page_client, agent)

    html = page_client.get(f"/test/leads/{kept.id}").get_data(as_text=True)

    assert away.reference in html
    assert "/merge/" not in html


def test_a_lead_without_duplicates_shows_nothing(page_client, manager):
    lead = new_lead("13391219793")
    login(page_client, manager)
    assert page_client.get(f"/test/leads/{lead.id}").get_data(as_text=True).strip() == ""


def test_merged_away_lead_shows_a_banner_linking_to_the_kept_lead(page_client, manager, pair):
    kept, away = pair
    merge_leads(kept.id, away.id, manager, fresh(kept.id).version, fresh(away.id).version)
    login(page_client, manager)

    html = page_client.get(f"/test/leads/{away.id}").get_data(as_text=True)

    assert "merged-banner" in html
    assert f'href="/app/leads/{kept.id}"' in html
    assert "/merge/" not in html


# --- the merge page -------------------------------------------------------------------------


def test_merge_page_compares_the_two_leads(client, auth, manager, pair):
    kept, away = pair
    auth.login(manager)

    response = client.get(merge_url(kept, away))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in (kept.reference, away.reference, "浙江芯源半导体有限公司", "李工", "li_xinyuan"):
        assert text in html
    assert f'action="{merge_url(kept, away)}"' in html
    assert f'href="{merge_url(away, kept)}"' in html  # keep the other one instead
    assert 'name="target_version"' in html and 'name="source_version"' in html


def test_agents_get_403_on_the_merge_page_and_the_merge(client, auth, agent, pair):
    kept, away = pair
    auth.login(agent)

    assert client.get(merge_url(kept, away)).status_code == 403
    assert post_merge(client, kept, away).status_code == 403
    assert fresh(away.id).merged_into_id is None


def test_merge_service_refuses_agents(app, agent, pair):
    kept, away = pair
    with pytest.raises(NotAllowed):
        merge_leads(kept.id, away.id, agent, kept.version, away.version)


def test_manager_merge_keeps_both_inquiries_activities_and_contacts(
    client, auth, manager, agent, pair
):
    kept, away = pair
    log_activity(fresh(away.id), agent, "call", "约了下周看地")
    schedule_follow_up(fresh(away.id), agent, utcnow() + timedelta(days=2), "回电")
    add_contact(away.id, "赵会计", "+8613905780000")
    auth.login(manager)

    response = post_merge(client, kept, away)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/app/leads/{kept.id}")
    assert fresh(away.id).merged_into_id == kept.id
    lead_ids = lambda model: set(db.session.execute(select(model.lead_id)).scalars())  # noqa: E731
    assert lead_ids(Inquiry) == {kept.id}
    assert lead_ids(FollowUp) == {kept.id}
    assert len(fresh(kept.id).inquiries) == 2
    kinds = list(
        db.session.execute(
            select(Activity.kind).where(Activity.lead_id == kept.id).order_by(Activity.id)
        ).scalars()
    )
    assert kinds == ["created", "created", "call", "merged"]
    contacts = {
        (c.name, c.phone)
        for c in db.session.execute(
            select(LeadContact).where(LeadContact.lead_id == kept.id)
        ).scalars()
    }
    assert contacts == {("赵会计", "+8613905780000"), ("李工", "+8613905781234")}


def test_merge_is_recorded_on_both_leads(client, auth, manager, pair):
    kept, away = pair
    auth.login(manager)

    post_merge(client, kept, away)

    merged = db.session.execute(
        select(Activity).where(Activity.lead_id == kept.id, Activity.kind == "merged")
    ).scalar_one()
    assert merged.actor_id == manager.id
    assert merged.data["source_id"] == away.id
    assert merged.data["source_reference"] == away.reference
    assert merged.data["source_company"] == "浙江芯源半导体股份有限公司"
    assert merged.data["source_contact"] == "李工"
    assert merged.data["source_phone"] == "+8613905781234"
    assert merged.data["moved"] == {"inquiries": 1, "activities": 1, "follow_ups": 0, "contacts": 0}
    away_note = db.session.execute(
        select(Activity).where(Activity.lead_id == away.id, Activity.kind == "merged_away")
    ).scalar_one()
    assert away_note.data["target_id"] == kept.id


def test_the_kept_lead_page_shows_both_inquiries_and_the_merge_on_its_timeline(
    client, auth, manager, pair
):
    kept, away = pair
    auth.login(manager)
    post_merge(client, kept, away)

    response = client.get(f"/app/leads/{kept.id}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "求租标准厂房2000平" in page and "求购工业用地30亩" in page  # both, as written
    timeline = page.split('class="list-group list-group-flush timeline"', 1)[1].split("</ul>")[0]
    assert f"{away.reference} · 浙江芯源半导体股份有限公司 · 李工 +8613905781234" in timeline


def test_the_merged_away_lead_page_shows_the_banner(client, auth, manager, pair):
    kept, away = pair
    auth.login(manager)
    post_merge(client, kept, away)

    response = client.get(f"/app/leads/{away.id}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "merged-banner" in page
    assert f'href="/app/leads/{kept.id}"' in page


def test_merge_fills_empty_fields_of_the_kept_lead_only(client, auth, manager):
    kept = new_lead("13391219793", email="wang@example.com")
    away = new_lead("13905781234", email="li@example.com", wechat="li_xinyuan")
    update_lead(away.id, credit_code=CODE)
    auth.login(manager)

    post_merge(client, kept, away)

    lead = fresh(kept.id)
    assert (lead.email, lead.wechat, lead.credit_code) == ("wang@example.com", "li_xinyuan", CODE)


def test_merge_keeps_the_kept_leads_own_credit_code(client, auth, manager, pair):
    kept, away = pair
    update_lead(kept.id, credit_code=CODE)
    update_lead(away.id, credit_code=OTHER_CODE)
    auth.login(manager)

    assert "credit-codes-differ" in client.get(merge_url(kept, away)).get_data(as_text=True)
    post_merge(client, kept, away)

    assert fresh(kept.id).credit_code == CODE
    assert fresh(away.id).credit_code == OTHER_CODE


def test_a_contact_identical_to_the_kept_leads_is_not_added_again(client, auth, manager):
    earlier = new_lead("13391219793", email="wang@example.com")
    set_lead_stage(earlier.id, "lost", "价格")
    again = new_lead("13391219793", need="还是想租厂房")
    auth.login(manager)

    post_merge(client, earlier, again)

    assert fresh(again.id).merged_into_id == earlier.id
    assert db.session.execute(select(LeadContact)).scalars().all() == []


def test_merged_away_lead_is_no_longer_open_for_its_phone(app, manager, pair):
    kept, away = pair
    merge_leads(kept.id, away.id, manager, fresh(kept.id).version, fresh(away.id).version)

    payload = {
        "need": "再问一下厂房",
        "use": "封装测试",
        "company": "浙江芯源半导体有限公司",
        "contact": "李工",
        "phone": "13905781234",
        "consent": True,
    }
    result = submit_inquiry(InquiryIn.model_validate(payload), InquiryContext("api"))

    assert result.created and result.lead.id not in (kept.id, away.id)
    assert fresh(away.id).stage == "new"  # kept for the record


def test_a_stale_page_gets_a_conflict_message_and_nothing_changes(client, auth, manager, pair):
    kept, away = pair
    auth.login(manager)
    seen = {"target_version": fresh(kept.id).version, "source_version": fresh(away.id).version}
    reparse_requirement(fresh(away.id), manager, seen["source_version"])  # someone else, meanwhile

    response = client.post(merge_url(kept, away), data=seen)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(merge_url(kept, away))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "其他人刚刚修改了这条线索" in page
    assert fresh(away.id).merged_into_id is None
    assert fresh(kept.id).version == seen["target_version"]
    assert len(fresh(kept.id).inquiries) == 1
    assert db.session.execute(select(Activity).where(Activity.kind == "merged")).first() is None


def test_merging_a_lead_into_itself_is_refused(client, auth, manager, pair):
    kept, _away = pair
    auth.login(manager)

    assert client.get(merge_url(kept, kept)).status_code == 422
    assert post_merge(client, kept, kept).status_code == 422
    assert fresh(kept.id).merged_into_id is None


def test_a_merged_away_lead_cannot_be_merged_again(client, auth, manager, pair):
    kept, away = pair
    third = new_lead("13905781299")
    merge_leads(kept.id, away.id, manager, fresh(kept.id).version, fresh(away.id).version)
    auth.login(manager)

    assert client.get(merge_url(third, away)).status_code == 422
    assert post_merge(client, third, away).status_code == 422
    assert post_merge(client, away, third).status_code == 422
    assert fresh(third.id).merged_into_id is None
    with pytest.raises(ValidationFailed):
        merge_leads(third.id, away.id, manager, fresh(third.id).version, fresh(away.id).version)


def test_merging_an_unknown_lead_is_404(client, auth, manager, pair):
    kept, _away = pair
    auth.login(manager)
    assert client.get(f"/app/leads/{kept.id}/merge/99999").status_code == 404


def test_a_merge_form_without_versions_is_refused(client, auth, manager, pair):
    kept, away = pair
    auth.login(manager)
    assert client.post(merge_url(kept, away), data={}).status_code == 422
    assert fresh(away.id).merged_into_id is None
