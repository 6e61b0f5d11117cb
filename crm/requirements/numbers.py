"""Numbers as prospects write them: Arabic, full-width and Chinese numerals, with 万 and 亿.

``parse_number`` reads one number ("1500", "１５００", "1,500", "两千", "三千五百", "十二",
"一百二十", "1.5万", "3千", "两万五", "1万5", "一点五万", "1.2亿"). ``NUMBER_PATTERN`` is a
regex fragment that finds such numbers inside longer text, and ``iter_numbers`` walks them.
Run the text through ``normalize`` first: it folds full-width characters (NFKC) and reads
"300w" as "300万" and "3个亿" as "3亿".

Colloquial shortening follows usage: a single digit right after a unit stands for the next
lower unit (两万五 = 25000, 三千五 = 3500, 一百二 = 120), unless 零 comes between
(一百零五 = 105). Two adjacent digits before a unit are an approximate range
(两三千 = 2000–3000), read by ``parse_number_range``; ``parse_number`` rejects them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7,
    "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8}

_D = "".join(_CN_DIGITS)
_U = "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)
_ARABIC = r"(?:\d{1,3}(?:,\d{3}){1,4}|\d{1,12})(?:\.\d{1,6})?"

# 千 in 千瓦, 千伏安, 千克, 千米, 千牛 belongs to the unit, so it never ends a number.
_UNIT = rf"(?:千(?![伏瓦克米牛])|[{_U.replace('千', '')}])"
# Bounded repeats and the look-behinds keep matching linear on long runs of digits: a number
# only starts where a run starts, so a phone number is one number, never a tail of one.
NUMBER_PATTERN = (
    rf"(?:(?<![\d.]){_ARABIC}(?:{_UNIT}(?:[{_D}\d]|{_UNIT}){{0,8}})?"
    rf"|(?<![{_D}{_U}\d.])[{_D}十拾](?:[{_D}]|{_UNIT}){{0,11}}(?:点[{_D}]{{1,4}}{_UNIT}{{0,2}})?)"
    r"(?!\.?\d)"
)
NUMBER_RE = re.compile(NUMBER_PATTERN)
NUMBER_START_CHARS = r"\d" + _D + "十拾"  # a character class body: what a number starts with

_ARABIC_RE = re.compile(_ARABIC)
_NUMERAL_CHARS_RE = re.compile(rf"[{_D}{_U}\d.]+")
_TOKEN_RE = re.compile(rf"\d+(?:\.\d+)?|[{_D}{_U}]")
_CN_DECIMAL_RE = re.compile(rf"^([{_D}{_U}]*)点([{_D}]+)")
_CN_RANGE_RE = re.compile(rf"^([{_D}])([{_D}])([{_U}]+)$")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_MEASURE_WORD_RE = re.compile(rf"(?<=[\d{_D}])个(?=[万亿])")  # 3个亿 is 3亿
_WAN_LETTER_RE = re.compile(r"(?<=\d)[wW](?![A-Za-z])")


def normalize(text: str) -> str:
    """Fold full-width forms (NFKC) and read "300w" as "300万"; keeps '，' from joining digits."""
    # NFKC turns '，' into ',', which would glue "2000，3000" into one number; '、' survives.
    folded = unicodedata.normalize("NFKC", text.replace("，", "、"))
    return _MEASURE_WORD_RE.sub("", _WAN_LETTER_RE.sub("万", folded))


def parse_number(text: str) -> float | None:
    """Parse one number written in Arabic, full-width or Chinese numerals; None if it is not one."""
    s = normalize(text).strip()
    if not s:
        return None
    if _ARABIC_RE.fullmatch(s):
        return float(s.replace(",", ""))
    s = _chinese_decimal_to_arabic(_THOUSANDS_RE.sub("", s))
    if s is None or not _NUMERAL_CHARS_RE.fullmatch(s):
        return None
    tokens = _TOKEN_RE.findall(s)
    if "".join(tokens) != s:
        return None
    return _evaluate(tokens)


def parse_number_range(text: str) -> tuple[float, float] | None:
    """Parse an approximate range such as 两三千 (2000–3000) or 三四十 (30–40); else None."""
    m = _CN_RANGE_RE.match(normalize(text).strip())
    if not m:
        return None
    low, high = _CN_DIGITS[m[1]], _CN_DIGITS[m[2]]
    scale = parse_number("1" + m[3])
    if low == 0 or high != low + 1 or scale is None:
        return None
    return float(low * scale), float(high * scale)


def iter_numbers(text: str) -> Iterator[tuple[float, int, int]]:
    """Yield (value, start, end) for each number in already-normalized text."""
    for m in NUMBER_RE.finditer(text):
        value = parse_number(m.group())
        if value is not None:
            yield value, m.start(), m.end()


def _chinese_decimal_to_arabic(s: str) -> str | None:
    """Rewrite 一点五万 as 1.5万 so the evaluator sees one decimal token."""
    m = _CN_DECIMAL_RE.match(s)
    if not m:
        return s
    whole = _evaluate(_TOKEN_RE.findall(m[1])) if m[1] else None
    if whole is None:
        return None
    fraction = "".join(str(_CN_DIGITS[c]) for c in m[2])
    return f"{int(whole)}.{fraction}{s[m.end() :]}"


def _evaluate(tokens: list[str]) -> float | None:
    """Evaluate numeral tokens: digits, 十百千 within a section, 万亿 closing sections."""
    if len(tokens) > 1 and all(t in _CN_DIGITS for t in tokens):
        return float("".join(str(_CN_DIGITS[t]) for t in tokens))  # 二〇二六 read digit by digit
    total = section = 0.0
    current: float | None = None
    single = after_zero = False
    last_unit = 1
    small_ceiling = 10**4
    for token in tokens:
        if token in _SMALL_UNITS:
            unit = _SMALL_UNITS[token]
            bare_ten = unit == 10 and (after_zero or section == total == 0)  # 十二, 一千零十
            if unit >= small_ceiling or (current is None and not bare_ten):
                return None
            section += (1 if current is None else current) * unit
            current, last_unit, small_ceiling, after_zero = None, unit, unit, False
        elif token in _BIG_UNITS:
            unit = _BIG_UNITS[token]
            amount = section + (current or 0)
            if amount == 0 and total == 0:
                return None
            total = (total + amount) * unit if unit > 10**4 else total + amount * unit
            section, current, last_unit, small_ceiling, after_zero = 0.0, None, unit, 10**4, False
        elif _CN_DIGITS.get(token) == 0 and current is None:
            after_zero = True
        elif current is not None:
            return None
        else:
            current = float(_CN_DIGITS[token]) if token in _CN_DIGITS else float(token)
            single = token in _CN_DIGITS or len(token) == 1
    if current is not None:
        if single and not after_zero and last_unit > 1:
            current *= last_unit / 10  # 两万五: the trailing digit counts in the next lower unit
        section += current
    return total + section
