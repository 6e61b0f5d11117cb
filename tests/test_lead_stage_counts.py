"""The trigger-kept `lead_stage_counts` always equals a count of the leads themselves.

The board reads its unfiltered counts from that table, so any writer that changed a lead's
stage, owner or merged state without the table following would show wrong numbers. These
tests drive the real services (and raw SQL, which only the triggers can see) in a random
order and compare with a from-scratch GROUP BY, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import random
from datetime import timedelta
from itertools import count

from sqlalchemy import delete, func, literal_column, select, update

from crm.database import write_transaction
from crm.exceptions import DomainError
from crm.extensions import db
from crm.leads.board import board
from crm.leads.filters import LeadFilter
from crm.leads.merging import merge_leads
from crm.leads.pipeline import change_stage, reassign_leads
from crm.models import Lead, LeadStageCount
from crm.privacy.service import erase_person
from crm.timeutil import utcnow
from crm.vocabulary import STAGES
from tests.builders import make_inquiry

_phones = count(13391270000)


def recounted() -> dict[tuple[int, str], int]:
    db.session.rollback()
    owner_key = func.coalesce(Lead.owner_id, literal_column("0")).label("owner_key")
    rows = db.session.execute(
        select(owner_key, Lead.stage, func.count())
        .where(Lead.merged_into_id.is_(None))
        .group_by(owner_key, Lead.stage)
    )
    return {(owner, stage): n for owner, stage, n in rows}


def kept() -> dict[tuple[int, str], int]:
    db.session.rollback()
    rows = db.session.execute(
        select(LeadStageCount.owner_key, LeadStageCount.stage, LeadStageCount.lead_count)
    )
    return {(owner, stage): n for owner, stage, n in rows if n != 0}


def new_lead(company: str = "丽水测试机械有限公司") -> Lead:
    result = make_inquiry("form", phone=str(next(_phones)), company=company)
    return db.session.get(Lead, result.lead.id)


def fresh(lead_id: int) -> Lead:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Lead, lead_id)


def test_counts_follow_creation_stage_changes_reassignment_and_deletion(app, agent, manager):
    leads = [new_lead() for _ in range(3)]
    assert kept() == recounted() != {}

    change_stage(leads[0], manager, "contacted", leads[0].version)
    reassign_leads([leads[1].id], agent.id, manager)
    with write_transaction() as session:  # a writer outside every service
        session.execute(update(Lead).where(Lead.id == leads[2].id).values(owner_id=None))
    assert kept() == recounted()

    with write_transaction() as session:
        session.execute(delete(Lead).where(Lead.id == leads[2].id))
    assert kept() == recounted()


def test_a_merged_away_lead_leaves_the_counts_and_an_erased_one_stays_counted(app, agent, manager):
    target, source = new_lead("甲精密机械有限公司"), new_lead("甲精密机械有限公司")
    merge_leads(target.id, source.id, manager, target.version, source.version)
    assert fresh(source.id).merged_into_id == target.id
    assert kept() == recounted()
    assert sum(kept().values()) == 1

    erase_person(fresh(target.id).phone, manager)
    assert kept() == recounted()


def test_counts_survive_a_random_sequence_of_changes(app, agent, other_agent, manager):
    rng = random.Random(20261128)
    owners = [agent.id, other_agent.id, manager.id]
    lead_ids = [new_lead().id for _ in range(8)]
    for _ in range(40):
        lead = fresh(rng.choice(lead_ids))
        action = rng.choice(("stage", "owner", "create", "merge"))
        if action == "stage":
            stage = rng.choice(list(STAGES))
            reason = "价格太高" if stage == "lost" else None
            try:
                change_stage(lead, manager, stage, lead.version, lost_reason=reason)
            except DomainError:  # a rule refused the move (e.g. won needs a property)
                db.session.rollback()
        elif action == "owner":
            reassign_leads([lead.id], rng.choice(owners), manager)
        elif action == "create":
            lead_ids.append(new_lead().id)
        elif lead.merged_into_id is None:
            other = fresh(rng.choice(lead_ids))
            if other.id != lead.id and other.merged_into_id is None:
                merge_leads(lead.id, other.id, manager, lead.version, other.version)
        assert kept() == recounted()


def test_the_unfiltered_board_counts_match_the_filtered_path(app, agent, other_agent, manager):
    mine = [new_lead() for _ in range(3)]
    theirs = new_lead()
    reassign_leads([lead.id for lead in mine[:2]], agent.id, manager)
    reassign_leads([theirs.id], other_agent.id, manager)
    for user in (agent, manager):
        unfiltered = {column.stage: column.count for column in board(user)}
        counted = {
            column.stage: column.count
            for column in board(user, LeadFilter(kind=None, q="有限公司"))
        }
        assert unfiltered == counted
    assert {column.stage: column.count for column in board(agent)}[
        "new"
    ] == 3  # 2 mine + 1 unassigned


def test_an_agents_column_merges_their_own_and_unassigned_leads_by_recent_activity(
    app, agent, manager
):
    leads = [new_lead() for _ in range(4)]
    reassign_leads([leads[0].id, leads[2].id], agent.id, manager)
    newest_first = [leads[3], leads[0], leads[1], leads[2]]
    now = utcnow()
    with write_transaction() as session:
        session.execute(
            update(Lead).where(Lead.id.in_([leads[1].id, leads[3].id])).values(owner_id=None)
        )
        for age, lead in enumerate(newest_first):
            session.execute(
                update(Lead)
                .where(Lead.id == lead.id)
                .values(last_activity_at=now - timedelta(minutes=age))
            )
    column = next(c for c in board(agent) if c.stage == "new")
    assert [lead.id for lead in column.leads] == [lead.id for lead in newest_first]
