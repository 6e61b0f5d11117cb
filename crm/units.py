"""Canonical unit conversions shared by the parser, the matching engine and the pages."""

from __future__ import annotations

SQM_PER_MU = 10000 / 15  # 1 亩 = 666.67 ㎡, the legal definition in China
SQM_PER_HECTARE = 10000.0  # 1 公顷 = 15 亩
YUAN_PER_WAN = 10000.0
WAN_PER_YI = 10000.0  # 1 亿 = 10000 万
KVA_PER_MVA = 1000.0
# Chinese building specs quote 1 t/㎡ as 10 kN/㎡ (g rounded to 10), so we do the same.
KN_PER_TONNE = 10.0
DAYS_PER_YEAR = 365
MONTHS_PER_YEAR = 12


def mu_to_sqm(mu: float) -> float:
    """Convert an area in 亩 to square metres."""
    return mu * SQM_PER_MU


def sqm_to_mu(sqm: float) -> float:
    """Convert an area in square metres to 亩."""
    return sqm / SQM_PER_MU


def hectare_to_sqm(hectares: float) -> float:
    """Convert an area in 公顷 (hectares) to square metres."""
    return hectares * SQM_PER_HECTARE


def rent_per_day_to_month(yuan_per_sqm_day: float) -> float:
    """Convert a rent in 元/㎡/天 to 元/㎡/月 (× 365 / 12)."""
    return yuan_per_sqm_day * DAYS_PER_YEAR / MONTHS_PER_YEAR


def rent_per_year_to_month(yuan_per_sqm_year: float) -> float:
    """Convert a rent in 元/㎡/年 to 元/㎡/月."""
    return yuan_per_sqm_year / MONTHS_PER_YEAR


def yuan_to_wan(yuan: float) -> float:
    """Convert 元 to 万元."""
    return yuan / YUAN_PER_WAN


def kg_to_tonnes(kg: float) -> float:
    """Convert kilograms to tonnes."""
    return kg / 1000


def kn_to_tonnes(kn: float) -> float:
    """Convert a floor load in kN to tonnes-force by the building-spec convention (10 kN = 1 t)."""
    return kn / KN_PER_TONNE


def round2(value: float) -> float:
    """Round to 2 decimals, the precision every stored figure keeps."""
    return float(round(value, 2))
