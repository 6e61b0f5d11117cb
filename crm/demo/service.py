"""Load the demo data set: users, parks, properties, assignment rules and leads (idempotent)."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import func, insert, select, text

from crm.auth.passwords import hash_password
from crm.database import write_transaction
from crm.demo import data
from crm.extensions import db
from crm.inquiry.service import format_reference
from crm.models import Lead, Park, Property, User
from crm.requirements.parser import Requirement, parse_requirement
from crm.timeutil import utcnow
from crm.vocabulary import OPEN_STAGES

BATCH = 5000
DEMO_PHONE_PREFIX = "+86170"  # demo leads get 170 numbers in order: +8617000000001…


@dataclass
class DemoReport:
    users: int = 0
    parks: int = 0
    properties: int = 0
    leads: int = 0


def database_is_empty() -> bool:
    return db.session.execute(select(func.count(User.id))).scalar_one() == 0


def load_demo(leads: int = 200, properties: int = 0, seed: int = 2026) -> DemoReport:
    """Add whatever of the demo set is missing; running it twice adds nothing twice."""
    report = DemoReport()
    with write_transaction() as session:
        report.users = _ensure_users(session)
        report.parks = _ensure_parks(session)
        report.properties = _ensure_properties(session, properties, random.Random(seed))
    report.leads = _ensure_leads(leads, random.Random(seed))
    return report


def _ensure_users(session) -> int:
    existing = set(session.execute(select(User.email)).scalars())
    password_hash = hash_password(data.DEMO_PASSWORD)
    added = 0
    for email, name, role in data.DEMO_USERS:
        if email not in existing:
            session.add(User(email=email, name=name, role=role, password_hash=password_hash))
            added += 1
    return added


def _ensure_parks(session) -> int:
    existing = set(session.execute(select(Park.name)).scalars())
    added = 0
    for name, city, district, focus, tax_per_mu, chemical, description in data.DEMO_PARKS:
        if name not in existing:
            session.add(
                Park(
                    name=name,
                    city=city,
                    district=district,
                    focus_industries=focus,
                    min_tax_per_mu_wan=tax_per_mu,
                    chemical_allowed=chemical,
                    description=description,
                )
            )
            added += 1
    session.flush()
    return added


def _parks_in_order(session) -> list[Park]:
    by_name = {p.name: p for p in session.execute(select(Park)).scalars()}
    return [by_name[row[0]] for row in data.DEMO_PARKS]


def _ensure_properties(session, extra: int, rng: random.Random) -> int:
    parks = _parks_in_order(session)
    existing = set(session.execute(select(Property.title)).scalars())
    added = 0
    for row in data.DEMO_PROPERTIES:
        title, park_index, kind, deals, area, mu, ceiling, load, power, rent, price, status = row
        if title in existing:
            continue
        session.add(
            Property(
                park_id=parks[park_index].id,
                title=title,
                kind=kind,
                offers_rent="rent" in deals,
                offers_sale="sale" in deals,
                area_sqm=area,
                land_area_mu=mu,
                ceiling_m=ceiling,
                floor_load_t=load,
                power_kva=power,
                rent_yuan_sqm_month=rent,
                sale_price_wan=price,
                status=status,
                available_from=utcnow().date(),
                description=f"{parks[park_index].name} · {title}",
            )
        )
        added += 1
    added += _generated_properties(session, parks, extra, rng)
    return added


def _generated_properties(session, parks: list[Park], count: int, rng: random.Random) -> int:
    already = session.execute(
        select(func.count(Property.id)).where(Property.title.like("示范房源%"))
    ).scalar_one()
    rows = []
    for n in range(already, count):
        park = rng.choice(parks)
        kind = rng.choice(["factory", "factory", "factory", "warehouse", "land", "office"])
        rows.append(
            {
                "park_id": park.id,
                "title": f"示范房源{n + 1:06d}",
                "kind": kind,
                "offers_rent": kind != "land",
                "offers_sale": rng.random() < 0.4 or kind == "land",
                "area_sqm": None if kind == "land" else float(rng.choice(data.AREAS)),
                "land_area_mu": float(rng.choice(data.MUS)) if kind == "land" else None,
                "ceiling_m": float(rng.choice([6, 8, 9, 10, 12])),
                "floor_load_t": float(rng.choice([1, 2, 3, 5])),
                "power_kva": float(rng.choice([200, 400, 630, 1000, 2000])),
                "rent_yuan_sqm_month": float(rng.choice([12, 15, 18, 22, 30])),
                "sale_price_wan": float(rng.choice([800, 1500, 3000])),
                "status": "available",
                "industries_allowed": [],
                "industries_excluded": [],
                "created_at": utcnow(),
                "updated_at": utcnow(),
                "version": 1,
            }
        )
    if rows:
        session.execute(insert(Property), rows)
    return len(rows)


@lru_cache(maxsize=4096)
def _parsed(need: str, use: str, tax: str, parks: tuple[str, ...]) -> Requirement:
    return parse_requirement(need, use, tax, park_names=parks)


def _ensure_leads(target: int, rng: random.Random) -> int:
    """Bulk-insert demo leads up to `target` (in batches, fast enough for 100,000)."""
    existing = db.session.execute(
        select(func.count(Lead.id)).where(Lead.phone.like(DEMO_PHONE_PREFIX + "%"))
    ).scalar_one()
    agents = list(db.session.execute(select(User.id).where(User.role == "agent")).scalars())
    parks = tuple(db.session.execute(select(Park.name)).scalars())
    added = 0
    for start in range(existing, target, BATCH):
        with write_transaction() as session:
            first_id = (session.execute(select(func.max(Lead.id))).scalar() or 0) + 1
            rows = [
                _demo_lead_row(n, first_id + i, rng, agents, parks)
                for i, n in enumerate(range(start, min(start + BATCH, target)))
            ]
            session.execute(insert(Lead), rows)
            _advance_id_sequence(session)
        added += len(rows)
    return added


def _advance_id_sequence(session) -> None:
    """Ids were given explicitly (to build references in one pass); PostgreSQL's sequence must follow."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('leads', 'id'), max(id)) FROM leads")
        )


def _demo_lead_row(
    n: int, lead_id: int, rng: random.Random, agents: list[int], parks: tuple[str, ...]
) -> dict:
    need_t, use, tax = rng.choice(data.NEED_TEMPLATES)
    area = rng.choice(data.AREAS)
    need = need_t.format(
        loc=rng.choice(data.LOCATIONS), a=area, mu=rng.choice(data.MUS), lo=area, hi=area + 1000
    )
    requirement = _parsed(need, use, tax, parks)
    created = utcnow() - timedelta(minutes=rng.randint(5, 60 * 24 * 180))
    stage = rng.choices([*OPEN_STAGES, "won", "lost"], weights=[30, 20, 15, 10, 8, 7, 10])[0]
    company = (
        rng.choice(data.COMPANY_PREFIXES)
        + rng.choice(data.COMPANY_CORES)
        + rng.choice(data.COMPANY_SUFFIXES)
    )
    row = {f"req_{k}": v for k, v in asdict(requirement).items()}
    row.update(
        {
            "id": lead_id,
            "reference": format_reference(created, lead_id),
            "company": company,
            "contact": rng.choice(data.SURNAMES)
            + rng.choice(data.GIVEN)
            + rng.choice(["", *data.GIVEN]),
            "phone": f"{DEMO_PHONE_PREFIX}{n + 1:08d}",
            "need": need,
            "use": use,
            "tax": tax or None,
            "corrected_fields": [],
            "stage": stage,
            "furthest_stage": stage if stage != "lost" else "contacted",
            "owner_id": rng.choice(agents) if agents and rng.random() < 0.9 else None,
            "source": rng.choice(
                ["website", "website", "wechat", "phone", "referral", "event", "api"]
            ),
            "created_at": created,
            "updated_at": created,
            "last_activity_at": created,
            "version": 1,
            "first_response_at": created + timedelta(minutes=rng.randint(3, 600))
            if stage != "new"
            else None,
            "closed_at": created + timedelta(days=rng.randint(5, 60))
            if stage in ("won", "lost")
            else None,
            "lost_reason": rng.choice(["价格太高", "面积不合适", "选择了其他园区", "项目取消"])
            if stage == "lost"
            else None,
        }
    )
    return row
