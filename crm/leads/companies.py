"""Companies behind leads: the unified social credit code and the company-name key."""

from __future__ import annotations

import re
import unicodedata

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z); the last is a check.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "集团",
    "股份",
    "公司",
    "co.,ltd.",
    "co., ltd.",
    "co.,ltd",
    "co. ltd",
    "co ltd",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
    "limited",
    "corporation",
    "corp.",
    "corp",
    "group",
)
_NOISE = re.compile(r"[\s\u3000（）()【】\[\]·,.，。、\-_]+")


def credit_code_check_char(first17: str) -> str:
    """The check character for the first 17 characters of a credit code."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def normalise_credit_code(value: str) -> str:
    """Upper-case, full-width folded and stripped; not yet checked."""
    return unicodedata.normalize("NFKC", value).strip().upper().replace(" ", "")


def is_valid_credit_code(code: str) -> bool:
    """18 characters of the alphabet whose last one is the right check character."""
    if len(code) != 18 or any(c not in CREDIT_CODE_ALPHABET for c in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def company_key(name: str | None) -> str | None:
    """浙江芯源半导体有限公司 and 浙江芯源半导体 (集团) share one key; None for blanks."""
    if not name:
        return None
    text = unicodedata.normalize("NFKC", name).lower()
    text = _NOISE.sub("", text)
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            compact = _NOISE.sub("", suffix)
            if text.endswith(compact) and len(text) > len(compact):
                text = text[: -len(compact)]
                changed = True
    return text[:200] or None
