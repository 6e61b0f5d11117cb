"""Companies behind leads: possible duplicates and the manager's merge of two leads."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, selectinload

from crm.database import write_transaction
from crm.exceptions import NotAllowed, NotFound, ValidationFailed
from crm.extensions import db
from crm.leads.companies import (
    CREDIT_CODE_ALPHABET,
    company_key,
    is_valid_credit_code,
    normalise_credit_code,
)
from crm.leads.service import claim_version, visible_leads
from crm.models import Activity, FollowUp, Inquiry, Lead, LeadContact, User
from crm.timeutil import utcnow

CREDIT_CODE_LENGTH = 18
DUPLICATE_LIMIT = 20
# Why two leads look like one company, strongest first (also the order reasons are listed in).
DUPLICATE_REASONS = {
    "credit_code": _l("same unified social credit code"),
    "email": _l("same e-mail"),
    "company": _l("same company name"),
}
# Empty fields of the lead that is kept are filled from the merged-away lead.
FILLABLE_FIELDS = {
    "email": _l("E-mail"),
    "wechat": _l("WeChat ID"),
    "credit_code": _l("Unified social credit code"),
}
# What moves from the merged-away lead to the kept one, with the table it lives in.
MOVED_RECORDS = {
    "inquiries": Inquiry,
    "activities": Activity,
    "follow_ups": FollowUp,
    "contacts": LeadContact,
}


@dataclass(frozen=True)
class Duplicate:
    """Another lead that may be the same company, with the reasons it matched."""

    lead: Lead
    reasons: tuple[str, ...]

    @property
    def reason_labels(self) -> list[str]:
        return [str(DUPLICATE_REASONS[reason]) for reason in self.reasons]


@dataclass(frozen=True)
class MergePlan:
    """What merging `source` into `target` does, read before anything is written."""

    target: Lead
    source: Lead
    reasons: tuple[str, ...]
    target_counts: dict[str, int]
    source_counts: dict[str, int]  # also what moves to the target
    filled_fields: tuple[str, ...]
    adds_contact: bool
    credit_codes_differ: bool

    @property
    def reason_labels(self) -> list[str]:
        return [str(DUPLICATE_REASONS[reason]) for reason in self.reasons]

    @property
    def filled_field_labels(self) -> list[str]:
        return [str(FILLABLE_FIELDS[name]) for name in self.filled_fields]


def validate_credit_code(text: str | None) -> str | None:
    """The normalised 统一社会信用代码, None when blank; ValidationFailed when it is not valid."""
    if text is None or not text.strip():
        return None
    code = normalise_credit_code(text)
    if len(code) != CREDIT_CODE_LENGTH:
        message = _("A unified social credit code has 18 characters.")
    elif any(c not in CREDIT_CODE_ALPHABET for c in code):
        message = _(
            "A unified social credit code has only digits and capital letters, "
            "without I, O, S, V and Z."
        )
    elif not is_valid_credit_code(code):
        message = _("This unified social credit code is not valid: please check it for typos.")
    else:
        return code
    raise ValidationFailed(message, {"credit_code": [message]})


def duplicate_reasons(lead: Lead, other: Lead) -> tuple[str, ...]:
    """Why two leads look like the same company (empty when they do not)."""
    found = set()
    if lead.credit_code and lead.credit_code == other.credit_code:
        found.add("credit_code")
    if lead.email and other.email and lead.email.lower() == other.email.lower():
        found.add("email")
    key = _company_key_of(lead)
    if key and key == _company_key_of(other):
        found.add("company")
    return tuple(reason for reason in DUPLICATE_REASONS if reason in found)


def find_possible_duplicates(lead: Lead, user: User) -> list[Duplicate]:
    """Other leads, not merged away, that this user may see and that may be the same company."""
    if lead.merged_into_id is not None:
        return []
    candidates: dict[int, Lead] = {}
    # One query per reason: each is answered from its own index (an OR of them may not be).
    for condition in _duplicate_conditions(lead):
        query = (
            visible_leads(user)
            .where(condition, Lead.id != lead.id, Lead.merged_into_id.is_(None))
            .options(selectinload(Lead.owner))
            .order_by(Lead.id.desc())
            .limit(DUPLICATE_LIMIT)
        )
        for other in db.session.execute(query).scalars():
            candidates.setdefault(other.id, other)
    duplicates = [
        Duplicate(other, reasons)
        for other in candidates.values()
        if (reasons := duplicate_reasons(lead, other))
    ]
    strength = list(DUPLICATE_REASONS)
    # Most reasons first, then the strongest reason, then the newest lead.
    duplicates.sort(key=lambda d: (-len(d.reasons), strength.index(d.reasons[0]), -d.lead.id))
    return duplicates[:DUPLICATE_LIMIT]


def _duplicate_conditions(lead: Lead) -> list[ColumnElement[bool]]:
    conditions = []
    if lead.credit_code:
        conditions.append(Lead.credit_code == lead.credit_code)
    if lead.email:
        # E-mails are stored lower-cased (crm.validation), so the plain index answers this.
        conditions.append(Lead.email == lead.email.lower())
    if key := _company_key_of(lead):
        conditions.append(Lead.company_key == key)
    return conditions


def _company_key_of(lead: Lead) -> str | None:
    return lead.company_key or company_key(lead.company)


def plan_merge(target_id: int, source_id: int, manager: User) -> MergePlan:
    """What merging the source lead into the target lead would do (nothing is written)."""
    _check_merge_allowed(manager, target_id, source_id)
    session = db.session()
    target, source = _load_pair(session, target_id, source_id, lock=False)
    _check_not_merged(target, source)
    return _plan(session, target, source)


def merge_leads(
    target_id: int,
    source_id: int,
    manager: User,
    expected_target_version: int,
    expected_source_version: int,
) -> Lead:
    """Merge the source lead into the target: its records move, it stays as a closed record."""
    _check_merge_allowed(manager, target_id, source_id)
    with write_transaction() as session:
        target, source = _load_pair(session, target_id, source_id, lock=True)
        _check_not_merged(target, source)
        expected = {target.id: expected_target_version, source.id: expected_source_version}
        for lead in sorted((target, source), key=lambda item: item.id):  # one lock order
            claim_version(session, lead, expected[lead.id])
        plan = _plan(session, target, source)
        now = utcnow()
        for name in plan.filled_fields:
            setattr(target, name, getattr(source, name))
        moved = _move_records(session, source, target)
        if plan.adds_contact:
            session.add(
                LeadContact(
                    lead_id=target.id,
                    name=source.contact,
                    phone=source.phone,
                    email=source.email,
                    wechat=source.wechat,
                    note=_("From merged lead %(reference)s", reference=source.reference)[:200],
                    created_at=now,
                )
            )
        source.merged_into_id = target.id
        target.last_activity_at = max(target.last_activity_at, source.last_activity_at)
        session.add(
            Activity(
                lead_id=target.id,
                kind="merged",
                actor_id=manager.id,
                created_at=now,
                body=f"{source.reference} · {source.company} · {source.contact} {source.phone}",
                data={
                    "source_id": source.id,
                    "source_reference": source.reference,
                    "source_company": source.company,
                    "source_contact": source.contact,
                    "source_phone": source.phone,
                    "moved": moved,
                    "contact_added": plan.adds_contact,
                    "filled_fields": list(plan.filled_fields),
                },
            )
        )
        session.add(
            Activity(
                lead_id=source.id,
                kind="merged_away",
                actor_id=manager.id,
                created_at=now,
                body=f"→ {target.reference} · {target.company}",
                data={
                    "target_id": target.id,
                    "target_reference": target.reference,
                    "target_company": target.company,
                },
            )
        )
    return target


def _check_merge_allowed(manager: User, target_id: int, source_id: int) -> None:
    if not manager.is_manager:
        raise NotAllowed(_("Only managers can merge leads."))
    if target_id == source_id:
        raise ValidationFailed(_("A lead cannot be merged into itself."))


def _load_pair(session: Session, target_id: int, source_id: int, lock: bool) -> tuple[Lead, Lead]:
    query = (
        select(Lead)
        .where(Lead.id.in_((target_id, source_id)))
        .order_by(Lead.id)
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update()
    leads = {lead.id: lead for lead in session.execute(query).scalars()}
    if target_id not in leads or source_id not in leads:
        raise NotFound(_("No such lead."))
    return leads[target_id], leads[source_id]


def _check_not_merged(target: Lead, source: Lead) -> None:
    for lead in (target, source):
        if lead.merged_into_id is not None:
            raise ValidationFailed(
                _(
                    "Lead %(reference)s has already been merged into another lead.",
                    reference=lead.reference,
                )
            )


def _plan(session: Session, target: Lead, source: Lead) -> MergePlan:
    filled = tuple(
        name for name in FILLABLE_FIELDS if not getattr(target, name) and getattr(source, name)
    )
    after_fill = {name: getattr(target, name) or getattr(source, name) for name in FILLABLE_FIELDS}
    known = [(target.contact, target.phone, after_fill["email"], after_fill["wechat"])]
    known += [
        (c.name, c.phone, c.email, c.wechat)
        for c in session.execute(
            select(LeadContact).where(LeadContact.lead_id.in_((target.id, source.id)))
        ).scalars()
    ]
    incoming = (source.contact, source.phone, source.email, source.wechat)
    return MergePlan(
        target=target,
        source=source,
        reasons=duplicate_reasons(target, source),
        target_counts=_counts(session, target.id),
        source_counts=_counts(session, source.id),
        filled_fields=filled,
        adds_contact=not any(_same_contact(incoming, other) for other in known),
        credit_codes_differ=bool(
            target.credit_code and source.credit_code and target.credit_code != source.credit_code
        ),
    )


def _same_contact(incoming: tuple, known: tuple) -> bool:
    """Same name and phone, and nothing the incoming contact has that the known one lacks."""
    name, phone, email, wechat = incoming
    k_name, k_phone, k_email, k_wechat = known
    return (
        name.strip() == (k_name or "").strip()
        and phone == k_phone
        and (not email or email.lower() == (k_email or "").lower())
        and (not wechat or wechat == k_wechat)
    )


def _counts(session: Session, lead_id: int) -> dict[str, int]:
    return {
        name: session.execute(
            select(func.count()).select_from(model).where(model.lead_id == lead_id)
        ).scalar_one()
        for name, model in MOVED_RECORDS.items()
    }


def _move_records(session: Session, source: Lead, target: Lead) -> dict[str, int]:
    moved = {}
    for name, model in MOVED_RECORDS.items():
        result = session.execute(
            update(model)
            .where(model.lead_id == source.id)
            .values(lead_id=target.id)
            .execution_options(synchronize_session="evaluate")
        )
        moved[name] = result.rowcount
    session.expire(target, ["inquiries"])
    session.expire(source, ["inquiries"])
    return moved
