"""The domain's fixed words: codes used everywhere, with the labels people read."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KINDS = {
    "factory": _l("factory"),
    "land": _l("land"),
    "warehouse": _l("warehouse"),
    "office": _l("office"),
}
LEAD_DEALS = {"rent": _l("rent"), "buy": _l("buy"), "either": _l("rent or buy")}
PROPERTY_DEALS = {"rent": _l("rent"), "sale": _l("sale")}
PROPERTY_STATUSES = {
    "available": _l("available"),
    "reserved": _l("reserved"),
    "leased": _l("leased"),
    "sold": _l("sold"),
    "withdrawn": _l("withdrawn"),
}
INDUSTRIES = {
    "semiconductor": _l("semiconductor"),
    "precision": _l("precision manufacturing"),
    "health": _l("health and pharmaceuticals"),
    "fashion": _l("fashion"),
    "digital": _l("digital economy"),
    "materials": _l("new materials"),
    "chemical": _l("chemical"),
    "food": _l("food and beverage"),
    "logistics": _l("logistics"),
    "other": _l("other"),
}
# Order matters: it is the funnel order of the reports (lost is outside it).
STAGES = {
    "new": _l("New"),
    "contacted": _l("Contacted"),
    "qualified": _l("Qualified"),
    "visit": _l("Site visit"),
    "negotiation": _l("Negotiation"),
    "won": _l("Won"),
    "lost": _l("Lost"),
}
FUNNEL = ("new", "contacted", "qualified", "visit", "negotiation", "won")
CLOSED_STAGES = ("won", "lost")
OPEN_STAGES = tuple(s for s in STAGES if s not in CLOSED_STAGES)
CHANNELS = {"form": _l("Website form"), "api": _l("API"), "import": _l("Import")}
SOURCES = {
    "website": _l("Website form"),
    "api": _l("API"),
    "wechat": _l("WeChat"),
    "phone": _l("Phone"),
    "import": _l("Import"),
    "referral": _l("Referral"),
    "event": _l("Event"),
}


def label(vocabulary: dict, code: str | None) -> str:
    """The readable label of a code, or the code itself when unknown."""
    if code is None:
        return ""
    return str(vocabulary.get(code, code))


ACTIVITY_KINDS = {
    "created": _l("Lead created"),
    "inquiry": _l("New inquiry"),
    "call": _l("Call"),
    "wechat": _l("WeChat message"),
    "email": _l("E-mail"),
    "visit": _l("Site visit"),
    "note": _l("Note"),
    "stage_change": _l("Stage changed"),
    "assigned": _l("Assigned"),
    "requirement_corrected": _l("Requirement corrected"),
    "requirement_reparsed": _l("Requirement parsed again"),
    "merged": _l("Merged with another lead"),
    "merged_away": _l("Merged into another lead"),
    "lead_updated": _l("Details changed"),
}
