"""Matching on the lead page: reasons, shortlist, share links, 锁定; and the demo data check."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.database import write_transaction
from crm.extensions import db
from crm.matching.engine import AREA_MARGIN
from crm.matching.service import matches_for_lead, matches_for_property
from crm.models import Lead, Park, Property, ShareLink, ShortlistItem
from crm.timeutil import utcnow
from tests.builders import make_inquiry, make_park, make_property, set_lead_stage

SECRET_NOTE = "房东底价16元-内部"


@pytest.fixture
def park(app):
    return make_park("丽水经开区南城片区", "丽水", district="莲都", min_tax_per_mu_wan=25)


@pytest.fixture
def factory(park):
    return make_property(
        park,
        "南城标准厂房A1栋",
        area_sqm=2200.0,
        ceiling_m=9.0,
        rent_yuan_sqm_month=18.0,
        internal_notes=SECRET_NOTE,
        min_annual_tax_wan=234.5,
    )


@pytest.fixture
def lead(app):
    """求租标准厂房2000平，层高8米 · 半导体封装测试 · 年税收300万 (see tests.builders)."""
    return make_inquiry().lead


def fresh(model, id_: int):
    db.session.rollback()
    return db.session.get(model, id_)


def matches_card(body: str) -> str:
    return body.split('id="matches"', 1)[1].split("</section>", 1)[0]


def lead_page(client, lead: Lead, lang: str = "zh") -> str:
    response = client.get(f"/app/leads/{lead.id}?lang={lang}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def share(client, lead: Lead) -> str:
    """Create a share link through the page; the path of the link shown once in the flash."""
    response = client.post(f"/app/leads/{lead.id}/share", follow_redirects=True)
    found = re.search(r"https?://[^\s<\"]+(/s/[A-Za-z0-9_-]+)", response.get_data(as_text=True))
    assert found, "the new link is shown after creation"
    return found.group(1)


# --- matches and reasons --------------------------------------------------------------------


def test_the_lead_page_shows_matches_with_score_and_every_reason(
    client, auth, manager, lead, factory
):
    auth.login(manager)
    card = matches_card(lead_page(client, lead, "en"))
    assert "南城标准厂房A1栋" in card
    assert re.search(r'class="badge score-badge [^"]*"[^>]*>\d+</span>', card)
    match = matches_for_lead(fresh(Lead, lead.id))[0]
    for reason in match.reasons:
        assert f'data-criterion="{reason.criterion}"' in card
    assert "Area 2,200㎡ fits the requirement" in card
    assert "reason-pass" in card and "reason-unknown" in card
    assert f"/app/leads/{lead.id}/matches" in card


def test_the_full_matches_page_lists_more_than_the_top_five(client, auth, manager, lead, park):
    for n in range(8):
        make_property(park, f"候选厂房{n}", area_sqm=1800.0 + n * 50)
    auth.login(manager)
    card = matches_card(lead_page(client, lead))
    full = client.get(f"/app/leads/{lead.id}/matches").get_data(as_text=True)
    assert card.count('class="list-group-item match-item"') == 5
    assert full.count('class="list-group-item match-item"') == 8


def test_an_agent_cannot_open_another_agents_matches(client, auth, agent, other_agent, lead):
    with write_transaction() as session:
        session.get(Lead, lead.id).owner_id = other_agent.id
    auth.login(agent)
    assert client.get(f"/app/leads/{lead.id}/matches").status_code == 403
    assert client.post(f"/app/leads/{lead.id}/share").status_code == 403


# --- shortlist ------------------------------------------------------------------------------


def test_add_to_shortlist_change_its_status_and_remove_it(client, auth, manager, lead, factory):
    auth.login(manager)
    response = client.post(
        f"/app/leads/{lead.id}/shortlist", data={"property_id": factory.id, "score": "88"}
    )
    assert response.status_code == 303
    item = db.session.execute(select(ShortlistItem)).scalar_one()
    assert (item.lead_id, item.property_id, item.score, item.status) == (
        lead.id,
        factory.id,
        88,
        "suggested",
    )
    assert "shortlist-item" in lead_page(client, lead)

    client.post(f"/app/leads/{lead.id}/shortlist/{item.id}/status", data={"status": "visited"})
    assert fresh(ShortlistItem, item.id).status == "visited"
    assert 'value="visited" selected' in lead_page(client, lead)

    client.post(f"/app/leads/{lead.id}/shortlist/{item.id}/status", data={"status": "bogus"})
    assert fresh(ShortlistItem, item.id).status == "visited"

    client.post(f"/app/leads/{lead.id}/shortlist/{item.id}/remove")
    assert fresh(ShortlistItem, item.id) is None


def test_the_status_of_another_leads_item_cannot_be_changed(client, auth, manager, lead, factory):
    other = make_inquiry(phone="13905781234", company="另一家公司").lead
    auth.login(manager)
    client.post(f"/app/leads/{other.id}/shortlist", data={"property_id": factory.id})
    item = db.session.execute(select(ShortlistItem)).scalar_one()
    response = client.post(
        f"/app/leads/{lead.id}/shortlist/{item.id}/status", data={"status": "chosen"}
    )
    assert response.status_code == 404
    assert fresh(ShortlistItem, item.id).status == "suggested"


# --- share links ----------------------------------------------------------------------------


def test_a_share_link_works_anonymously_and_hides_internal_data(
    client, auth, manager, lead, factory, park
):
    declined = make_property(park, "不考虑的厂房", area_sqm=2100.0)
    auth.login(manager)
    for prop in (factory, declined):
        client.post(f"/app/leads/{lead.id}/shortlist", data={"property_id": prop.id})
    item = db.session.execute(
        select(ShortlistItem).where(ShortlistItem.property_id == declined.id)
    ).scalar_one()
    client.post(f"/app/leads/{lead.id}/shortlist/{item.id}/status", data={"status": "declined"})
    path = share(client, lead)
    auth.logout()

    response = client.get(path)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "南城标准厂房A1栋" in body and "2,200㎡" in body
    assert "不考虑的厂房" not in body
    assert '<meta name="robots" content="noindex, nofollow">' in body
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    for secret in (SECRET_NOTE, "234.5", lead.company, lead.contact, lead.phone, lead.reference):
        assert secret not in body
    assert "13391219793" not in body


def test_the_new_link_is_listed_with_its_expiry(client, auth, manager, lead, factory):
    auth.login(manager)
    client.post(f"/app/leads/{lead.id}/shortlist", data={"property_id": factory.id})
    share(client, lead)
    card = matches_card(lead_page(client, lead, "en"))
    assert "share-links" in card and "valid until" in card
    assert "/s/" not in card  # the token itself is shown only once


def test_no_link_for_an_empty_shortlist(client, auth, manager, lead):
    auth.login(manager)
    client.post(f"/app/leads/{lead.id}/share")
    assert db.session.execute(select(ShareLink)).first() is None


def test_an_expired_link_is_404(client, auth, manager, lead, factory):
    auth.login(manager)
    client.post(f"/app/leads/{lead.id}/shortlist", data={"property_id": factory.id})
    path = share(client, lead)
    with write_transaction() as session:
        for link in session.execute(select(ShareLink)).scalars():
            link.expires_at = utcnow() - timedelta(minutes=1)
    auth.logout()
    assert client.get(path).status_code == 404


def test_a_revoked_link_is_404(client, auth, manager, lead, factory):
    auth.login(manager)
    client.post(f"/app/leads/{lead.id}/shortlist", data={"property_id": factory.id})
    path = share(client, lead)
    assert client.get(path).status_code == 200
    client.post(f"/app/leads/{lead.id}/share/revoke")
    auth.logout()
    assert client.get(path).status_code == 404


def test_a_made_up_token_is_404(client):
    assert client.get("/s/not-a-real-token").status_code == 404
    assert client.get("/s/" + "x" * 200).status_code == 404


# --- 锁定 (reserve) and release -------------------------------------------------------------


def test_reserving_needs_the_negotiation_stage(client, auth, manager, lead, factory):
    auth.login(manager)
    card = matches_card(lead_page(client, lead))
    assert "reserve-form" not in card and "reserve-hint" in card
    response = client.post(
        f"/app/leads/{lead.id}/reserve", data={"property_id": factory.id}, follow_redirects=True
    )
    assert response.status_code == 200
    assert fresh(Property, factory.id).status == "available"


def test_a_lead_in_negotiation_reserves_until_a_date_and_releases(
    client, auth, manager, lead, factory
):
    set_lead_stage(lead.id, "negotiation")
    auth.login(manager)
    card = matches_card(lead_page(client, lead))
    assert "reserve-form" in card
    until = (utcnow() + timedelta(days=20)).date()
    client.post(
        f"/app/leads/{lead.id}/reserve",
        data={"property_id": factory.id, "until": until.isoformat()},
    )
    prop = fresh(Property, factory.id)
    assert (prop.status, prop.reserved_for_lead_id) == ("reserved", lead.id)
    assert abs((prop.reserved_until - utcnow()) - timedelta(days=20)) < timedelta(days=1)
    assert "held-list" in lead_page(client, lead)

    client.post(f"/app/leads/{lead.id}/release", data={"property_id": factory.id})
    prop = fresh(Property, factory.id)
    assert (prop.status, prop.reserved_for_lead_id) == ("available", None)


def test_the_default_reservation_lasts_14_days(client, auth, manager, lead, factory, park):
    make_property(park, "另一栋", area_sqm=2000.0)
    set_lead_stage(lead.id, "negotiation")
    auth.login(manager)
    default = (utcnow() + timedelta(hours=8) + timedelta(days=14)).date().isoformat()
    assert f'name="until" value="{default}"' in lead_page(client, lead)
    client.post(f"/app/leads/{lead.id}/reserve", data={"property_id": factory.id, "until": ""})
    held = fresh(Property, factory.id).reserved_until - utcnow()
    assert timedelta(days=13, hours=23) < held <= timedelta(days=14)


def test_a_reservation_beyond_90_days_is_refused(client, auth, manager, lead, factory):
    set_lead_stage(lead.id, "negotiation")
    auth.login(manager)
    until = (utcnow() + timedelta(days=120)).date().isoformat()
    client.post(f"/app/leads/{lead.id}/reserve", data={"property_id": factory.id, "until": until})
    assert fresh(Property, factory.id).status == "available"


def test_a_reserved_property_leaves_other_leads_matches(client, auth, manager, lead, factory):
    other = make_inquiry(phone="13905781234", company="另一家半导体公司").lead
    set_lead_stage(lead.id, "negotiation")
    auth.login(manager)
    assert "南城标准厂房A1栋" in matches_card(lead_page(client, other))
    client.post(f"/app/leads/{lead.id}/reserve", data={"property_id": factory.id})
    assert fresh(Property, factory.id).status == "reserved"

    assert "南城标准厂房A1栋" not in matches_card(lead_page(client, other))
    assert "南城标准厂房A1栋" not in client.get(f"/app/leads/{other.id}/matches").get_data(
        as_text=True
    )
    mine = matches_card(lead_page(client, lead))
    assert "南城标准厂房A1栋" in mine  # the holder still sees it, marked as held
    assert "property-status-reserved" in mine
    shortlisted = client.post(f"/app/leads/{other.id}/shortlist", data={"property_id": factory.id})
    assert shortlisted.status_code == 303
    assert db.session.execute(select(ShortlistItem)).first() is None


def test_another_agent_cannot_release_a_reservation(client, auth, manager, agent, lead, factory):
    set_lead_stage(lead.id, "negotiation")
    auth.login(manager)
    client.post(f"/app/leads/{lead.id}/reserve", data={"property_id": factory.id})
    auth.logout()
    with write_transaction() as session:
        session.get(Lead, lead.id).owner_id = None  # visible to the agent, but not theirs
    auth.login(agent)
    response = client.post(f"/app/leads/{lead.id}/release", data={"property_id": factory.id})
    assert response.status_code == 403
    assert fresh(Property, factory.id).status == "reserved"


# --- the demo data (the "Done when") ------------------------------------------------


@pytest.fixture
def demo(app):
    from crm.demo.service import load_demo

    load_demo(leads=200)
    db.session.remove()


def _park_of(property_id: int) -> Park:
    return db.session.get(Property, property_id).park


def test_demo_a_semiconductor_lead_in_lishui_sees_lishui_factories_first(client, demo):
    lead = make_inquiry(
        need="求租丽水标准厂房2000平方米左右",
        use="半导体封装测试",
        tax="年税收500万",
        phone="13666666666",
    ).lead
    client.post(
        "/login", data={"email": "manager@demo.parklead.cn", "password": "ParkLead-Demo-2026"}
    )
    # The page first: translations are cached per app context, which the test shares.
    card = matches_card(lead_page(client, lead, "en"))

    matches = matches_for_lead(fresh(Lead, lead.id))
    lishui = [m for m in matches if _park_of(m.property_id).city == "丽水"]
    assert len(lishui) >= 2
    assert [m.property_id for m in matches[: len(lishui)]] == [m.property_id for m in lishui]
    first = db.session.get(Property, matches[0].property_id)
    assert first.kind == "factory"
    assert card.index(first.title) < card.index("reason-pass")
    assert "丽水 matches the park" in card
    assert "Industry semiconductor is a focus industry of the park" in card


def test_demo_a_chemical_lead_never_matches_a_park_without_chemicals(client, demo):
    lead = make_inquiry(
        need="求购工业用地", use="精细化工、涂料", tax="5000万", phone="13777777777"
    ).lead
    lead = fresh(Lead, lead.id)
    assert lead.requirement.industry == "chemical"
    matches = matches_for_lead(lead, limit=200)
    titles = {db.session.get(Property, m.property_id).title for m in matches}
    assert "衢州化工园区地块" in titles
    assert "开发区生物医药地块" not in titles
    assert all(_park_of(m.property_id).chemical_allowed for m in matches)

    chemical_leads = db.session.execute(
        select(Lead).where(Lead.req_industry == "chemical", Lead.stage.not_in(["won", "lost"]))
    ).scalars()
    for demo_lead in chemical_leads:
        for match in matches_for_lead(demo_lead, limit=200):
            assert _park_of(match.property_id).chemical_allowed


def test_demo_a_property_too_small_for_a_lead_shows_up_nowhere_for_it(demo):
    lishui = db.session.execute(select(Park).where(Park.city == "丽水")).scalars().first()
    tiny = make_property(lishui, "丽水经开区小车间", area_sqm=300.0)
    lead = make_inquiry(
        need="求租丽水标准厂房2000平方米左右", use="半导体封装测试", phone="13888888888"
    ).lead

    assert tiny.id not in {m.property_id for m in matches_for_lead(fresh(Lead, lead.id), limit=500)}
    fitted = {m.lead_id for m in matches_for_property(fresh(Property, tiny.id), limit=10_000)}
    assert lead.id not in fitted
    for lead_id in fitted:  # every lead it does fit asks for no more than it has, with margin
        minimum = fresh(Lead, lead_id).req_area_min_sqm
        assert minimum is None or minimum <= 300.0 * (1 + AREA_MARGIN)
