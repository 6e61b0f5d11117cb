"""Matching on the lead page: the best properties, the shortlist, share links and 锁定."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from crm.exceptions import NotFound, StageRuleError, ValidationFailed
from crm.leads.service import get_lead_or_404
from crm.matching.engine import Match
from crm.matching.service import matches_for_lead
from crm.models import Lead, Property, ShareLink, ShortlistItem, User
from crm.properties import queries, service, shortlist
from crm.properties.forms import ReserveForm, ShortlistAddForm, ShortlistStatusForm
from crm.public import listings as public_listings
from crm.timeutil import utcnow
from crm.vocabulary import PROPERTY_STATUSES

bp = Blueprint("lead_matching", __name__)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TOP_MATCHES = 5
ALL_MATCHES = 50
RESERVE_DAYS = 14
RESERVE_MAX_DAYS = 89  # the service allows 90 days from now; the last whole day is 89 ahead
SHORTLIST_STATUS_LABELS = {
    "suggested": _l("suggested"),
    "sent": _l("sent to the prospect"),
    "visited": _l("visited"),
    "declined": _l("declined"),
    "chosen": _l("chosen"),
}


@dataclass(frozen=True)
class MatchRow:
    """A match with its property, as the lead page shows it."""

    match: Match
    prop: Property
    summary: str
    shortlisted: bool
    held_here: bool


@dataclass(frozen=True)
class LeadMatching:
    """Everything the lead page's matching card needs."""

    matches: list[MatchRow]
    shortlist: list[ShortlistItem]
    share_links: list[ShareLink]
    held: list[Property]
    can_reserve: bool
    may_reserve_as_user: bool
    today: date
    reserve_until: date
    reserve_max: date
    statuses: dict[str, object]
    property_statuses: dict[str, object]


def lead_matching_context(lead: Lead, user: User, limit: int = TOP_MATCHES) -> dict:
    """Template context for the lead page: top matches, shortlist, live links, 锁定 state."""
    return {"lead_matching": _lead_matching(lead, user, limit)}


def _lead_matching(lead: Lead, user: User, limit: int) -> LeadMatching:
    matches = matches_for_lead(lead, limit=limit)
    props = queries.properties_by_id(m.property_id for m in matches)
    items = shortlist.shortlist(lead)
    listed = {item.property_id for item in items}
    rows = [
        MatchRow(
            match=m,
            prop=props[m.property_id],
            summary=public_listings.describe(props[m.property_id]),
            shortlisted=m.property_id in listed,
            held_here=_held_by(props[m.property_id], lead),
        )
        for m in matches
        if m.property_id in props
    ]
    may_reserve = user.is_manager or lead.owner_id == user.id
    today = utcnow().astimezone(LOCAL_TZ).date()
    return LeadMatching(
        matches=rows,
        shortlist=items,
        share_links=shortlist.active_share_links(lead),
        held=queries.held_for(lead),
        can_reserve=may_reserve and lead.stage == "negotiation",
        may_reserve_as_user=may_reserve,
        today=today,
        reserve_until=today + timedelta(days=RESERVE_DAYS),
        reserve_max=today + timedelta(days=RESERVE_MAX_DAYS),
        statuses=SHORTLIST_STATUS_LABELS,
        property_statuses=PROPERTY_STATUSES,
    )


def _held_by(prop: Property, lead: Lead) -> bool:
    return prop.status == "reserved" and prop.reserved_for_lead_id == lead.id


def _back(lead: Lead):
    """To the page the form was on (the lead page or its matches page), else the lead page."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target, 303)
    return redirect(url_for("leads.show", lead_id=lead.id) + "#matches", 303)


def _number(raw: object) -> int:
    value = str(raw or "").strip()
    if not value.isdecimal() or len(value) > 9:
        raise NotFound(_("No such property."))
    return int(value)


@bp.get("/<int:lead_id>/matches")
@login_required
def matches(lead_id: int):
    lead = get_lead_or_404(lead_id, current_user)
    return render_template(
        "properties/lead_matches.html",
        lead=lead,
        limit=ALL_MATCHES,
        **lead_matching_context(lead, current_user, limit=ALL_MATCHES),
    )


@bp.post("/<int:lead_id>/shortlist")
@login_required
def add_to_shortlist(lead_id: int):
    lead = get_lead_or_404(lead_id, current_user)
    form = ShortlistAddForm()
    score = str(form.score.data or "")
    try:
        shortlist.add_to_shortlist(
            lead,
            current_user,
            _number(form.property_id.data),
            int(score) if score.isdecimal() and len(score) <= 3 else None,
        )
    except StageRuleError as exc:
        flash(exc.message, "warning")
    else:
        flash(_("Added to the shortlist."), "success")
    return _back(lead)


@bp.post("/<int:lead_id>/shortlist/<int:item_id>/status")
@login_required
def set_shortlist_status(lead_id: int, item_id: int):
    lead = get_lead_or_404(lead_id, current_user)
    form = ShortlistStatusForm()
    try:
        shortlist.set_shortlist_status(lead, item_id, str(form.status.data or ""))
    except ValidationFailed as exc:
        flash(exc.message, "warning")
    else:
        flash(_("Shortlist updated."), "success")
    return _back(lead)


@bp.post("/<int:lead_id>/shortlist/<int:item_id>/remove")
@login_required
def remove_from_shortlist(lead_id: int, item_id: int):
    lead = get_lead_or_404(lead_id, current_user)
    shortlist.remove_from_shortlist(lead, item_id)
    flash(_("Removed from the shortlist."), "success")
    return _back(lead)


@bp.post("/<int:lead_id>/share")
@login_required
def create_share_link(lead_id: int):
    lead = get_lead_or_404(lead_id, current_user)
    if not shortlist.shortlist(lead):
        flash(_("Add properties to the shortlist before sharing it."), "warning")
        return _back(lead)
    link, token = shortlist.create_share_link(lead, current_user)
    base = current_app.config["CRM_BASE_URL"].rstrip("/")
    url = base + url_for("public.shared", token=token)
    flash(
        _(
            "Share link created, valid until %(date)s. Copy it now, it is shown only once: %(url)s",
            date=format_date(link.expires_at, "yyyy-MM-dd"),
            url=url,
        ),
        "success",
    )
    return _back(lead)


@bp.post("/<int:lead_id>/share/revoke")
@login_required
def revoke_share_links(lead_id: int):
    lead = get_lead_or_404(lead_id, current_user)
    shortlist.revoke_share_links(lead)
    flash(_("Share links revoked: they no longer open."), "success")
    return _back(lead)


@bp.post("/<int:lead_id>/reserve")
@login_required
def reserve(lead_id: int):
    lead = get_lead_or_404(lead_id, current_user)
    form = ReserveForm()
    prop = service.get_property_or_404(_number(form.property_id.data))
    if not form.validate():
        flash(_("Please enter a date (YYYY-MM-DD)."), "warning")
        return _back(lead)
    until = None
    if form.until.data:
        local_end = datetime.combine(form.until.data, time(23, 59), tzinfo=LOCAL_TZ)
        until = local_end.astimezone(ZoneInfo("UTC"))
    try:
        service.reserve_property(current_user, prop, lead, until)
    except (StageRuleError, ValidationFailed) as exc:
        flash(exc.message, "warning")
    else:
        flash(_("“%(title)s” is reserved for this lead.", title=prop.title), "success")
    return _back(lead)


@bp.post("/<int:lead_id>/release")
@login_required
def release(lead_id: int):
    lead = get_lead_or_404(lead_id, current_user)
    prop = service.get_property_or_404(_number(request.form.get("property_id")))
    if prop.reserved_for_lead_id != lead.id:
        raise NotFound(_("This property is not reserved for this lead."))
    try:
        service.release_property(current_user, prop)
    except StageRuleError as exc:
        flash(exc.message, "warning")
    else:
        flash(_("“%(title)s” is available again.", title=prop.title), "success")
    return _back(lead)
