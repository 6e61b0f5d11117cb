"""Zhejiang place names (every prefecture and county-level division) found in free text.

Names are stored without their suffix (丽水, not 丽水市) and found by a leftmost-longest
scan, so "丽水市" yields 丽水 and a park name passed in ("丽水经开区") beats the city inside
it. Former names map to today's division (下城区 → 拱墅, 江干区 → 上城, 江东区 → 鄞州).

Short names that are also ordinary words or parts of other places are guarded by decoys:
phrases consumed by the same scan that yield nothing. So 广东阳江 is not 东阳, 黄浦江 is not
浦江, 上海宁波 is not 海宁, 浙江山区 is not 江山, 道路桥梁 is not 路桥, and a rooftop
(带天台) is not 天台. Provinces and places outside Zhejiang (上海, 江苏 …) are decoys too:
matching only knows Zhejiang parks. Latin text matches only the pinyin of the prefectures
and of a few well-known county-level cities ("Hangzhou" → 杭州); other English is not read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

PREFECTURES: dict[str, tuple[str, ...]] = {
    "杭州": ("上城", "拱墅", "西湖", "滨江", "萧山", "余杭", "临平", "钱塘", "富阳", "临安",
             "桐庐", "淳安", "建德"),
    "宁波": ("海曙", "江北", "北仑", "镇海", "鄞州", "奉化", "象山", "宁海", "余姚", "慈溪"),
    "温州": ("鹿城", "龙湾", "瓯海", "洞头", "永嘉", "平阳", "苍南", "文成", "泰顺", "瑞安",
             "乐清", "龙港"),
    "嘉兴": ("南湖", "秀洲", "嘉善", "海盐", "海宁", "平湖", "桐乡"),
    "湖州": ("吴兴", "南浔", "德清", "长兴", "安吉"),
    "绍兴": ("越城", "柯桥", "上虞", "新昌", "诸暨", "嵊州"),
    "金华": ("婺城", "金东", "武义", "浦江", "磐安", "兰溪", "义乌", "东阳", "永康"),
    "衢州": ("柯城", "衢江", "常山", "开化", "龙游", "江山"),
    "舟山": ("定海", "普陀", "岱山", "嵊泗"),
    "台州": ("椒江", "黄岩", "路桥", "三门", "天台", "仙居", "温岭", "临海", "玉环"),
    "丽水": ("莲都", "青田", "缙云", "遂昌", "松阳", "云和", "庆元", "景宁", "龙泉"),
}  # fmt: skip

_ALIASES = {
    "杭城": "杭州",
    "甬城": "宁波",
    "下城区": "拱墅",
    "江干区": "上城",
    "大江东": "钱塘",
    "钱塘新区": "钱塘",
    "江东区": "鄞州",
    "鄞县": "鄞州",
    "杭州湾新区": "杭州湾新区",
    "Hangzhou": "杭州",
    "Ningbo": "宁波",
    "Wenzhou": "温州",
    "Jiaxing": "嘉兴",
    "Huzhou": "湖州",
    "Shaoxing": "绍兴",
    "Jinhua": "金华",
    "Quzhou": "衢州",
    "Zhoushan": "舟山",
    "Taizhou": "台州",
    "Lishui": "丽水",
    "Xiaoshan": "萧山",
    "Yuhang": "余杭",
    "Yiwu": "义乌",
    "Cixi": "慈溪",
    "Yuyao": "余姚",
}

_DECOYS = (
    # Provinces and regions, so 广东阳江 is not 东阳 and 上海宁波 is not 海宁.
    "浙江", "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "四川",
    "贵州", "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆", "内蒙古", "香港", "澳门",
    "台湾",
    # Places elsewhere that contain a Zhejiang name.
    "黄浦江", "南宁", "三门峡", "龙泉驿", "长兴岛", "江北新区", "太平湖", "钱塘江", "杭州湾",
    # Ordinary words that contain one.
    "道路桥梁", "公路桥", "铁路桥", "路桥工程", "路桥建设", "路桥施工", "路桥材料", "路桥设备",
    "带天台", "有天台", "屋顶天台", "楼顶天台", "天台上", "天台面积", "天台可用",
    "海盐加工", "海盐生产", "食用海盐", "海盐产品", "临海临港", "临港临海", "临海靠港",
    "定海神针", "文成公主", "安吉尔",
)  # fmt: skip

_SUFFIXES = ("畲族自治县", "自治县", "新区", "市", "区", "县")

COUNTY_TO_PREFECTURE = {c: p for p, counties in PREFECTURES.items() for c in counties}
PLACE_NAMES: frozenset[str] = frozenset(PREFECTURES) | frozenset(COUNTY_TO_PREFECTURE)


def _base_table() -> dict[str, str | None]:
    """Map each searchable key (casefolded) to its canonical name, or None for a decoy."""
    table: dict[str, str | None] = {d: None for d in _DECOYS}
    table.update({name: name for name in PLACE_NAMES})
    table.update({alias.casefold(): name for alias, name in _ALIASES.items()})
    return table


_BASE_TABLE = _base_table()


def find_places(text: str, park_names: Sequence[str] = ()) -> list[str]:
    """Return the places (and given park names) named in text, in order, without repeats."""
    pattern, table = _matcher(tuple(park_names))
    found: list[str] = []
    for m in pattern.finditer(unicodedata.normalize("NFKC", text)):
        name = table[m.group().casefold()]
        if name is not None and name not in found:
            found.append(name)
    return found


def canonical_place(name: str) -> str | None:
    """Return the canonical short name of one place ("丽水市" → "丽水"), or None if unknown."""
    key = unicodedata.normalize("NFKC", name).strip().casefold()
    if key in _BASE_TABLE:
        return _BASE_TABLE[key]
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and _BASE_TABLE.get(key[: -len(suffix)]):
            return _BASE_TABLE[key[: -len(suffix)]]
    return None


def prefecture_of(name: str) -> str | None:
    """Return the prefecture-level city a place belongs to (莲都 → 丽水; 丽水 → 丽水)."""
    place = canonical_place(name)
    if place in PREFECTURES:
        return place
    return COUNTY_TO_PREFECTURE.get(place or "")


@lru_cache(maxsize=64)
def _matcher(park_names: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, str | None]]:
    """Compile one leftmost-longest alternation over places, decoys and the given parks."""
    table = dict(_BASE_TABLE)
    for park in park_names:
        key = unicodedata.normalize("NFKC", park).strip().casefold()
        if key:
            table[key] = park.strip()
    keys = sorted(table, key=len, reverse=True)  # longest first: re takes the first that fits
    # The look-ahead on first characters lets re skip most positions without trying each key.
    first = "".join(sorted({re.escape(k[0]) for k in keys}))
    alternation = "|".join(_key_pattern(k) for k in keys)
    return re.compile(f"(?=[{first}])(?:{alternation})", re.IGNORECASE), table


def _key_pattern(key: str) -> str:
    """Escape a key; Latin words must not sit inside longer Latin words."""
    pattern = re.escape(key)
    if key[0].isascii() and key[0].isalpha():
        pattern = r"(?<![a-z])" + pattern
    if key[-1].isascii() and key[-1].isalpha():
        pattern += r"(?![a-z])"
    return pattern
