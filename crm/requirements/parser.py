"""Parse an inquiry's need / use / tax text into a structured ``Requirement``.

Deterministic rules (DESIGN.md, "Structured requirement"); a field the text does not state
stays None. Where DESIGN.md is silent, these are the choices:

- Location: see ``places`` (Zhejiang names without suffix, park names, decoys for words
  that merely contain a place name).
- Sources: every field but tax and industry is read from need, then use (need first, so a
  figure in need wins). Location lists the places of need, then of use. Tax is read from the
  tax field; only when that yields nothing, from a figure labelled as tax (年纳税500万) in need
  or use. Industry is read from use, then need.
- Numbers need their unit: an area needs 平/平方/平米/平方米/㎡/m2/sqm/亩/公顷; power needs
  kVA/kW (MVA/MW × 1000); a ceiling needs 米/m and a word such as 层高; a floor load needs
  吨/t/kg/kN and a word such as 承重 (kN read as 1 t = 10 kN, the building-spec convention).
  Phone numbers, years, head counts and money therefore never become areas. An area below
  10 ㎡ is taken for a stray word (统一平台 holds "一平") and ignored.
- Areas: 2000多平 counts as a lone figure (±20%); two adjacent numerals (两三千平) are a
  range; "1-2万平" shares the 万 (10000–20000); "2000平以上、5000平以下" joins into one
  range. When several areas appear, the first one in a clause whose nearest kind word is the
  main kind wins (厂房2000平，另需办公楼500平 → 2000); else the first in a clause that names
  no kind and no annex (宿舍, 食堂, 配套 …); else the first area.
- Kind: the first kind word not introduced as an annex (另需, 配套, 带, 含, 和, 建 …);
  when every kind word is an annex, the first one. 用地 after 使/适/作 is not land.
- Deal: a verb right after 不/无需 (只买不租) does not count. A budget alone does not imply buy.
- Tax: a range gives its lower bound; a per-亩 figure (亩均税收30万) is not an annual total
  and is ignored; in the tax field a number after a non-tax label (产值, 营收, 投资 …) is
  skipped, a number with 元 is converted, and a bare number is 万元 (also after a tax label).
- Rent: a range or qualifier gives the upper figure; no period means per month. A per-area
  price counts as rent when it states a period, or 租 precedes it in the sentence, or the
  deal is rent. "租金20元" without an area unit is read as 元/㎡/月; totals (月租5万) are not.
- Budget (buy_max_wan): labelled 预算/总价/出价; a range gives its upper figure; a bare
  number is 万元 as for tax; a price per ㎡ or per 亩 is not a budget.
- Industry: the first keyword in use, else in need (a longer keyword wins where two start
  together: 医疗器械 is health, not precision). 'other' when use says something but names no
  category; None when use is empty or a placeholder (无, 待定, 保密, emoji only, …) and need
  names no category either.
- English: areas in sqm/m2/square meters, kinds (factory, warehouse, land, office), deals
  (rent, lease, buy, purchase, for sale), a few industry words and the pinyin of the
  prefecture cities are read; other English is not.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple

from crm import units
from crm.requirements.numbers import (
    NUMBER_PATTERN,
    NUMBER_START_CHARS,
    normalize,
    parse_number,
    parse_number_range,
)
from crm.requirements.places import find_places

KINDS = ("factory", "land", "warehouse", "office")
DEALS = ("rent", "buy", "either")
INDUSTRIES = (
    "semiconductor",
    "precision",
    "health",
    "fashion",
    "digital",
    "materials",
    "chemical",
    "food",
    "logistics",
    "other",
)


@dataclass(frozen=True)
class Requirement:
    """A lead's structured requirement; None means the inquiry did not state it."""

    kind: str | None = None
    deal: str | None = None
    area_min_sqm: float | None = None
    area_max_sqm: float | None = None
    location: str | None = None
    tax_wan: float | None = None
    power_kva_min: float | None = None
    ceiling_m_min: float | None = None
    floor_load_t_min: float | None = None
    rent_max_yuan_sqm_month: float | None = None
    buy_max_wan: float | None = None
    industry: str | None = None

    def as_dict(self) -> dict[str, str | float | None]:
        """Return the fields as a plain dict, in REQUIREMENT_FIELDS order."""
        return {name: getattr(self, name) for name in REQUIREMENT_FIELDS}


REQUIREMENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Requirement))

# --- shared regex pieces --------------------------------------------------------------------

_N = rf"(?>{NUMBER_PATTERN})"  # atomic: never backtrack into part of a number
_SEP = r"\s*+(?:-|~|〜|—{1,2}|–|至|到)\s*+"
_BREAKS = "\n、,;。!?"
_SENTENCE_BREAKS = "\n;。!?"
_FILLER = rf"[^\d{_BREAKS}]{{0,8}}?"  # a few words between a label and its figure
_METRE = r"(?:米|m(?![2²a-z]))"
_PER_SQM = r"(?:/|每|一个?)\s*+(?:平方米|平米|平方|平|m2|sqm)"
_MULTIPLIER_CHARS = "万萬亿億"
_UNIT_CHARS = "十拾百佰千仟万萬亿億"


def _starting_with(chars: str, pattern: str) -> str:
    """Prefix pattern with a look-ahead on its first character, so re skips most positions fast."""
    return f"(?=[{chars}])(?:{pattern})"


# --- area -----------------------------------------------------------------------------------

_AREA_UNIT = (
    r"(?:平方米|平方公尺|平米|平方(?!公里|千米)|平(?![台面均衡整安稳坦常时价方原])"
    r"|m2(?!\d)|sqm|sq\.?\s?m(?:eters?|etres?)?(?![a-z])|square\s+met(?:er|re)s?|亩|mu(?![a-z])|公顷)"
)
_AREA_PRE_MIN = ("不少于", "不低于", "不小于", "至少", "最少", "起码", "大于", "多于", "超过",
                 "≥", ">=", ">")  # fmt: skip
_AREA_PRE_MAX = ("不超过", "不大于", "不高于", "不多于", "最多", "最大", "小于", "少于", "低于",
                 "不到", "≤", "<=", "<")  # fmt: skip
_AREA_POST_MIN = ("及以上", "或以上", "以上", "起")
_AREA_POST_MAX = ("及以下", "或以下", "以下", "以内", "之内", "封顶", "内")
_AREA_PRE_APPROX = ("大约", "大概", "约", "差不多", "将近", "接近")
_GREATER = r"(?<![A-Za-z0-9'\"/])>"  # the '>' closing an HTML tag is not "more than"
_AREA_QUALIFIERS = (*_AREA_PRE_MIN, *_AREA_PRE_MAX, *_AREA_PRE_APPROX)
_AREA_PRE = "|".join(_GREATER if w == ">" else re.escape(w) for w in _AREA_QUALIFIERS)
_AREA_POST = "|".join(map(re.escape, (*_AREA_POST_MIN, *_AREA_POST_MAX, "左右", "上下", "前后")))
_AREA_RE = re.compile(
    _starting_with(
        NUMBER_START_CHARS + re.escape("".join({w[0] for w in _AREA_QUALIFIERS})),
        rf"(?:(?P<pre>{_AREA_PRE})\s*+(?:在|为|是)?\s*+)?(?<![万元块/每])"
        rf"(?:(?P<lo>{_N})\s*+个?\s*+(?P<lo_unit>{_AREA_UNIT})?{_SEP}"
        rf"(?P<hi>{_N})\s*+多?\s*+个?\s*+(?P<hi_unit>{_AREA_UNIT})"
        rf"|(?P<one>{_N})\s*+多?\s*+个?\s*+(?P<unit>{_AREA_UNIT}))"
        rf"(?:\s*+(?P<post>{_AREA_POST})(?![部外]))?",
    ),
    re.IGNORECASE,
)
_PRICE_PER_UNIT_RE = re.compile(r"[十百千万萬亿億]一$")
_MIN_AREA_SQM = 10.0
_CLAUSE_REACH = 60
_APPROX = 0.2

# --- kind, deal -----------------------------------------------------------------------------

_KIND_RE = re.compile(
    _starting_with(
        "厂车工生租买购找求土地净用拿亩块仓库冷电云物写办研商fwplo",
        r"(?P<factory>厂房|车间|厂区|工业用房|生产用房|厂子"
        r"|(?:租|买|购|找|求)(?:个|一个|间|一间|家|一家)?工?厂(?![家商长区房子])"
        r"|(?<![a-z])(?:factory|factories|workshop|plant)(?![a-z]))"
        r"|(?P<land>工业用地|土地|地块|地皮|净地|(?<![使适作应运专])用地|工业地(?!产)"
        r"|(?:拿|购|买|租|找|[亩块])地(?![址区方点图铁])"
        r"|(?<![a-z])land(?![a-z]))"
        r"|(?P<warehouse>仓库|仓储|库房|冷库|电商仓|云仓|物流仓|(?<![a-z])warehouses?(?![a-z]))"
        r"|(?P<office>写字楼|办公(?!家具|用品|设备|文具)|研发楼|商务楼|(?<![a-z])offices?(?![a-z]))",
    ),
    re.IGNORECASE,
)
_ANNEX_BEFORE_RE = re.compile(
    rf"(?:另需|另外|另|配套|附带|附属|外加|带|含|包括|包含|以及|及|和|加|新建|自建|建设|建|盖)[^{_BREAKS}]{{0,2}}$"
)
_ANNEX_CLAUSE_RE = re.compile(r"另|配套|附带|附属|宿舍|食堂|生活区|停车|院子|堆场")
_PER_UNIT_RE = re.compile(r"每(?:层|栋|幢|间|个|套)")
_RENT_RE = re.compile(r"租|(?<![a-z])(?:rent|rental|renting|lease|leasing)(?![a-z])", re.IGNORECASE)
_BUY_RE = re.compile(
    r"求购|购买|购置|购入|购地|购房|购厂|收购|认购|(?<=租)[售购]|买(?!单)|出售|转让|拿地"
    r"|(?<![a-z])(?:buy|buying|purchase|purchasing)(?![a-z])|for\s+sale",
    re.IGNORECASE,
)
_NEGATION_RE = re.compile(r"(?:不|无需|无意)(?:考虑|要|想|接受|需要|打算)?\s*+$")

# --- power, ceiling, floor load -------------------------------------------------------------

_POWER_UNIT = r"(?:千伏安|kva|千瓦(?!时)|kw(?!h)|mva|兆伏安|兆瓦|mw(?!h))"
_POWER_RE = re.compile(
    _starting_with(
        NUMBER_START_CHARS,
        rf"(?P<n>{_N})(?:\s*+{_POWER_UNIT})?(?:{_SEP}{_N})?\s*+(?P<unit>{_POWER_UNIT})",
    ),
    re.IGNORECASE,
)
_CEILING_KEY = r"(?:层高|净高|檐口高度|檐口高|檐高|挑高|净空高度|净空|梁下净高|梁底净高|梁下高度|梁下|楼层高度|高度)"
_CEILING_RE = re.compile(
    _starting_with(
        NUMBER_START_CHARS + "层净檐挑梁楼高",
        rf"{_CEILING_KEY}{_FILLER}(?P<a>{_N})(?:\s*+{_METRE})?(?:{_SEP}{_N})?\s*+{_METRE}"
        rf"|(?P<b>{_N})(?:\s*+{_METRE})?(?:{_SEP}{_N})?\s*+{_METRE}\s*+(?:及以上|以上)?\s*+的?\s*+"
        r"(?:层高|净高|檐高|挑高|高(?![速铁新温压端档级]))",
    ),
    re.IGNORECASE,
)
_LOAD_KEY = (
    r"(?<!行车)(?<!吊车)(?:楼面荷载|地面荷载|楼板荷载|活荷载|地坪承重|荷载|载荷|荷重|承重|承载)"
)
_LOAD_UNIT = r"(?:吨|t(?![a-z])|公斤|千克|kg|kn|千牛)"
_LOAD_RE = re.compile(
    _starting_with(
        NUMBER_START_CHARS + "楼地活荷载承",
        rf"{_LOAD_KEY}{_FILLER}(?P<a>{_N})(?:{_SEP}{_N})?\s*+(?P<ua>{_LOAD_UNIT})"
        rf"|(?P<b>{_N})(?:{_SEP}{_N})?\s*+(?P<ub>{_LOAD_UNIT})(?:\s*+{_PER_SQM})?\s*+的?\s*+"
        r"(?:承重|荷载|载荷|荷重)",
    ),
    re.IGNORECASE,
)

# --- money ----------------------------------------------------------------------------------

_YUAN = r"(?:元|块钱|块|rmb)"
_PERIOD = r"(?:\s*+(?:/|每|·|\*|一个?)?\s*+(?P<period>月|天|日|年|month|day|year))?"
_RENT_AFTER_RE = re.compile(
    _starting_with(
        NUMBER_START_CHARS,
        rf"(?P<lo>{_N})(?:\s*+{_YUAN})?(?:{_SEP}(?P<hi>{_N}))?\s*+{_YUAN}?\s*+{_PER_SQM}{_PERIOD}",
    ),
    re.IGNORECASE,
)
_RENT_BEFORE_RE = re.compile(
    rf"(?:每|/)\s*+(?:平方米|平米|平方|平|m2)\s*+(?:租金|价格)?\s*+(?P<lo>{_N})(?:{_SEP}(?P<hi>{_N}))?"
    rf"\s*+{_YUAN}(?:\s*+(?:/|每|一个?)\s*+(?P<period>月|天|日|年))?",
    re.IGNORECASE,
)
_RENT_LABEL_RE = re.compile(
    rf"(?<![年总])(?P<label>日租金|月租金|日租|月租|租金|租价)(?:预算)?{_FILLER}(?P<lo>{_N})"
    rf"(?:{_SEP}(?P<hi>{_N}))?\s*+{_YUAN}(?!\s*+{_PER_SQM})"
    r"(?:\s*+(?:/|每|一个?)\s*+(?P<period>月|天|日))?",
    re.IGNORECASE,
)
_BUDGET_RE = re.compile(
    r"(?<!租金)(?<!租)(?:购买预算|购置预算|购房预算|总预算|预算|总价格|总价|购买价格|出价)"
    rf"[^\d{_BREAKS}平米亩月租]{{0,8}}?(?P<lo>{_N})(?:{_SEP}(?P<hi>{_N}))?\s*+(?P<unit>{_YUAN})?"
    r"(?!\s*+(?:/|每|一个?)\s*+(?:平|m2|亩|月|年|天))",
    re.IGNORECASE,
)
_TAX_LABEL = r"(?:年纳税额|年纳税|纳税额|纳税|年税收|税收|年交税|交税|年缴税|缴税|税金|税额|年税)"
_TAX_LABELED_RE = re.compile(
    rf"(?<!亩均)(?<!亩)(?<!每亩){_TAX_LABEL}{_FILLER}(?P<lo>{_N})(?:{_SEP}(?P<hi>{_N}))?"
    rf"\s*+(?P<unit>{_YUAN})?(?!\s*+(?:/|每|一)\s*+亩)(?!\s*+[年月日天人个%])",
)
_AMOUNT_RE = re.compile(
    _starting_with(
        NUMBER_START_CHARS,
        rf"(?<!第)(?P<lo>{_N})(?:{_SEP}(?P<hi>{_N}))?\s*+(?P<unit>{_YUAN})?"
        r"(?!\s*+(?:[年月日天人个%岁号楼层栋平亩米吨]|(?:/|每)\s*+(?:亩|平|m)|kva|kw|m2|sqm))",
    ),
    re.IGNORECASE,
)
_LABELS = (
    r"(?P<per_mu>亩均|每亩|亩产)|(?P<tax>税)"
    r"|(?P<other>产值|营收|营业额|营业收入|销售额|销售|收入|利润|投资|注册资本|资本|产出|市值|融资)"
)
_LABEL_RE = re.compile(_LABELS)
_LABEL_AFTER_RE = re.compile(rf"\s*+的?\s*+(?:{_LABELS})")

# --- industry -------------------------------------------------------------------------------

_INDUSTRY_KEYWORDS = {
    "semiconductor": (
        "半导体", "集成电路", "芯片", "晶圆", "晶片", "硅片", "封装测试", "封测", "光刻", "功率器件",
        "电子元器件", "元器件", "电路板", "PCB", "IC", "MEMS", "semiconductor", "chip", "chips", "wafer",
    ),
    "precision": (
        "精密制造", "精密", "机械", "数控", "汽配", "汽车零部件", "汽车配件", "零部件", "整车",
        "五金", "模具", "机床", "装备制造", "装备", "轴承", "阀门", "泵", "紧固件", "机加工",
        "机器人", "自动化", "电机", "齿轮", "钣金", "冲压", "注塑", "铸造", "锻造", "压铸",
        "设备制造", "机电", "食品机械", "包装机械", "纺织机械", "服装机械", "制药机械",
        "制药设备", "化工设备", "化工机械", "新能源汽车", "machinery", "CNC", "machining",
        "auto parts",
    ),
    "health": (
        "健康医药", "大健康", "健康产业", "生物医药", "医药", "制药", "医疗器械", "医疗设备",
        "医疗", "医用", "药品", "药业", "原料药", "中药", "药材", "药厂", "兽药", "保健品",
        "生物制品", "生物科技", "生物技术", "疫苗", "体外诊断", "IVD", "pharma",
        "pharmaceutical", "pharmaceuticals", "medical", "biotech",
    ),
    "fashion": (
        "时尚", "服装", "服饰", "鞋革", "鞋业", "制鞋", "鞋", "箱包", "皮革", "皮具", "纺织",
        "针织", "家纺", "面料", "布料", "制衣", "成衣", "童装", "女装", "内衣", "袜", "毛衫",
        "丝绸", "眼镜", "饰品", "首饰", "珠宝", "化妆品", "美妆", "garment", "garments",
        "apparel", "fashion", "textile", "textiles", "shoes", "footwear",
    ),
    "digital": (
        "数字经济", "数字化", "数字科技", "数字产业", "软件", "互联网", "数据中心", "大数据",
        "数据服务", "云计算", "人工智能", "信息技术", "信息科技", "网络科技", "算力", "服务器",
        "物联网", "通信", "电商", "电子商务", "直播", "游戏", "动漫", "区块链", "元宇宙", "AI",
        "IT", "5G", "SaaS", "IDC", "software", "internet", "data center", "data centre",
    ),
    "materials": (
        "新材料", "光电材料", "复合材料", "高分子", "纳米材料", "碳纤维", "石墨烯", "锂电",
        "电池材料", "正极材料", "负极材料", "稀土", "磁性材料", "电子材料", "功能材料",
        "特种材料", "金属材料", "合金", "光伏", "电池", "储能", "新能源", "new materials",
        "advanced materials",
    ),
    "chemical": (
        "化工", "涂料", "电镀", "油漆", "化学品", "化学", "树脂", "农药", "染料", "危化品",
        "危险化学品", "溶剂", "胶粘剂", "粘合剂", "表面处理", "酸洗", "印染", "电泳", "喷涂",
        "喷漆", "磷化", "化肥", "chemical", "chemicals", "coating", "coatings", "electroplating",
    ),
    "food": (
        "食品", "饮料", "饮品", "农产品", "茶叶", "茶饮", "酒业", "白酒", "啤酒", "黄酒",
        "葡萄酒", "酿酒", "乳制品", "乳业", "烘焙", "调味品", "肉制品", "预制菜", "粮油",
        "水产", "食用", "零食", "糕点", "速冻", "中央厨房", "餐饮", "food", "beverage",
        "beverages",
    ),
    "logistics": (
        "物流", "仓储", "电商仓", "电商仓储", "电商物流", "跨境电商仓", "快递", "供应链",
        "冷链", "配送", "货运", "分拣", "云仓", "中转仓", "logistics", "warehousing",
    ),
}  # fmt: skip
_PLACEHOLDERS = frozenset(
    ("无", "暂无", "没有", "待定", "未定", "不定", "不确定", "保密", "未知", "不详", "略", "无可奉告",
     "暂不透露", "不方便透露", "na", "none", "null", "nil", "test", "测试", "xx", "xxx")
)  # fmt: skip


def _keyword_pattern(word: str) -> str:
    """Latin keywords are case-sensitive when short (IT, AI) and never inside longer words."""
    if not word.isascii():
        return re.escape(word)
    core = re.escape(word).replace(r"\ ", r"\s+")
    core = f"(?-i:{core})" if word.isupper() or any(c.isdigit() for c in word) else core
    return rf"(?<![a-z]){core}(?![a-z])"


_INDUSTRY_WORDS = sorted(
    (w for ws in _INDUSTRY_KEYWORDS.values() for w in ws), key=len, reverse=True
)
_INDUSTRY_BY_WORD = {w.casefold(): code for code, ws in _INDUSTRY_KEYWORDS.items() for w in ws}
_INDUSTRY_RE = re.compile(
    _starting_with(
        "".join(sorted({re.escape(w[0]) for w in _INDUSTRY_WORDS})),
        "|".join(_keyword_pattern(w) for w in _INDUSTRY_WORDS),
    ),
    re.IGNORECASE,
)


# --- public ---------------------------------------------------------------------------------


def parse_requirement(
    need: str, use: str = "", tax: str = "", park_names: Sequence[str] = ()
) -> Requirement:
    """Parse the inquiry's need, use and tax text into a Requirement (None where not stated)."""
    need, use, tax = need or "", use or "", tax or ""
    text = f"{normalize(need)}\n{normalize(use)}"
    mentions = _kind_mentions(text)
    kind = _main_kind(mentions)
    deal = _deal(text)
    area_min, area_max = _area(text, mentions, kind)
    places = find_places(f"{need}\n{use}", park_names)
    return Requirement(
        kind=kind,
        deal=deal,
        area_min_sqm=area_min,
        area_max_sqm=area_max,
        location="，".join(places) or None,
        tax_wan=_tax_wan(normalize(tax), text),
        power_kva_min=_power_kva(text),
        ceiling_m_min=_ceiling_m(text),
        floor_load_t_min=_floor_load_t(text),
        rent_max_yuan_sqm_month=_rent_month(text, deal),
        buy_max_wan=_budget_wan(text),
        industry=_industry(normalize(use), normalize(need)),
    )


# --- kind and deal --------------------------------------------------------------------------


class _Mention(NamedTuple):
    start: int
    end: int
    kind: str
    annex: bool


def _kind_mentions(text: str) -> list[_Mention]:
    """Every kind word in text, flagged when it is introduced as an annex (另需办公楼)."""
    return [
        _Mention(m.start(), m.end(), str(m.lastgroup), _is_annex(text, m.start()))
        for m in _KIND_RE.finditer(text)
    ]


def _is_annex(text: str, pos: int) -> bool:
    """Whether the words right before pos introduce an annex (另需, 配套, 带 …)."""
    return bool(_ANNEX_BEFORE_RE.search(text, max(0, pos - 8), pos))


def _main_kind(mentions: list[_Mention]) -> str | None:
    """The first kind word that is not an annex, else the first kind word."""
    main = [m for m in mentions if not m.annex] or mentions
    return main[0].kind if main else None


def _deal(text: str) -> str | None:
    """rent, buy, either (both named) or None; a negated verb (不租) does not count."""
    rent = _named(_RENT_RE, text)
    buy = _named(_BUY_RE, text)
    if rent and buy:
        return "either"
    return "rent" if rent else "buy" if buy else None


def _named(pattern: re.Pattern[str], text: str) -> bool:
    """Whether pattern occurs in text without a negation right before it."""
    return any(
        not _NEGATION_RE.search(text, max(0, m.start() - 4), m.start())
        for m in pattern.finditer(text)
    )


# --- area -----------------------------------------------------------------------------------


class _Area(NamedTuple):
    start: int
    end: int
    low: float | None
    high: float | None


def _area(
    text: str, mentions: list[_Mention], kind: str | None
) -> tuple[float | None, float | None]:
    """The area of the main need as (min ㎡, max ㎡)."""
    areas = [a for m in _AREA_RE.finditer(text) if (a := _area_from_match(m))]
    if not areas:
        return None, None
    tiers: tuple[list[int], list[int], list[int]] = ([], [], [])
    for i, area in enumerate(areas):
        tiers[_area_tier(text, area, mentions, kind)].append(i)
    chosen = next(tier[0] for tier in tiers if tier)
    low, high = _join_open_bounds(text, areas, chosen)
    return _round(low), _round(high)


def _area_from_match(m: re.Match[str]) -> _Area | None:
    """Bounds in ㎡ from one area match, or None when the figure is implausible."""
    if m["one"]:
        if _PRICE_PER_UNIT_RE.search(m["one"]):
            return None  # 30万一亩 is a price per 亩, not 301000 亩
        span = _number_span(m["one"])
        if span is None:
            return None
        low, high = (_to_sqm(v, m["unit"]) for v in span)
        low, high = _qualify(low, high, m["pre"], m["post"])
    else:
        lo, hi = _number_span(m["lo"]), _number_span(m["hi"])
        if lo is None or hi is None:
            return None
        lo_value = _share_multiplier(m["lo"], lo[0], m["hi"], hi[1])
        low, high = sorted(
            (_to_sqm(lo_value, m["lo_unit"] or m["hi_unit"]), _to_sqm(hi[1], m["hi_unit"]))
        )
    if max(v for v in (low, high) if v is not None) < _MIN_AREA_SQM:
        return None
    return _Area(m.start(), m.end(), low, high)


def _qualify(
    low: float, high: float, pre: str | None, post: str | None
) -> tuple[float | None, float | None]:
    """Apply 以上/不超过/左右…: a minimum, a maximum, a range as written, or ±20%."""
    if pre in _AREA_PRE_MIN or post in _AREA_POST_MIN:
        return low, None
    if pre in _AREA_PRE_MAX or post in _AREA_POST_MAX:
        return None, high
    if low != high:
        return low, high
    return low * (1 - _APPROX), high * (1 + _APPROX)


def _to_sqm(value: float, unit: str | None) -> float:
    """Convert a figure in the matched area unit to ㎡."""
    unit = (unit or "").lower()
    if unit in ("亩", "mu"):
        return units.mu_to_sqm(value)
    if unit == "公顷":
        return units.hectare_to_sqm(value)
    return value


def _area_tier(text: str, area: _Area, mentions: list[_Mention], kind: str | None) -> int:
    """0: next to the main kind word; 1: in a clause naming no kind or annex; 2: otherwise."""
    start, end = _clause_bounds(text, area.start, area.end, _BREAKS)
    if _PER_UNIT_RE.search(text, start, area.start):
        return 2  # 每层1500平 is a part; the total comes elsewhere
    lo = bisect_left(mentions, start, key=lambda m: m.start)
    hi = bisect_left(mentions, end, lo, key=lambda m: m.start)
    near = mentions[lo:hi]
    if near:
        closest = min(near, key=lambda m: max(m.start - area.end, area.start - m.end, 0))
        return 0 if closest.kind == kind and not closest.annex else 2
    return 2 if _ANNEX_CLAUSE_RE.search(text, start, end) else 1


def _join_open_bounds(text: str, areas: list[_Area], i: int) -> tuple[float | None, float | None]:
    """Join "2000平以上、5000平以下" into one range; otherwise the chosen area's bounds."""
    for first, second in ((i, i + 1), (i - 1, i)):
        if first >= 0 and second < len(areas):
            joined = _joined(text, areas[first], areas[second])
            if joined:
                return joined
    return areas[i].low, areas[i].high


def _joined(text: str, first: _Area, second: _Area) -> tuple[float, float] | None:
    """The range of a minimum-only and a maximum-only area written next to each other."""
    gap = text[first.end : second.start]
    if len(gap) > 8 or any(c in _SENTENCE_BREAKS for c in gap):
        return None
    bounds = [first, second]
    low = next((a.low for a in bounds if a.low is not None and a.high is None), None)
    high = next((a.high for a in bounds if a.high is not None and a.low is None), None)
    if low is None or high is None or high < low:
        return None
    return low, high


# --- power, ceiling, floor load -------------------------------------------------------------


def _power_kva(text: str) -> float | None:
    """The first power figure in kVA (kW counted as kVA, MVA/MW × 1000)."""
    for m in _POWER_RE.finditer(text):
        value = parse_number(m["n"])
        if value:
            scale = units.KVA_PER_MVA if m["unit"].lower() in ("mva", "兆伏安", "兆瓦", "mw") else 1
            return _round(value * scale)
    return None


def _ceiling_m(text: str) -> float | None:
    """The first ceiling height in metres (层高/净高/檐高 …), the lower figure of a range."""
    for m in _CEILING_RE.finditer(text):
        value = parse_number(m["a"] or m["b"])
        if value:
            return _round(value)
    return None


def _floor_load_t(text: str) -> float | None:
    """The first floor load in t/㎡ (承重/荷载 …), from 吨, kg or kN."""
    for m in _LOAD_RE.finditer(text):
        value = parse_number(m["a"] or m["b"])
        if value:
            unit = (m["ua"] or m["ub"]).lower()
            if unit in ("公斤", "千克", "kg"):
                value = units.kg_to_tonnes(value)
            elif unit in ("kn", "千牛"):
                value = units.kn_to_tonnes(value)
            return _round(value)
    return None


# --- money ----------------------------------------------------------------------------------


def _rent_month(text: str, deal: str | None) -> float | None:
    """The first rent stated (upper figure of a range) in 元/㎡/月; per day × 365 / 12."""
    found: list[tuple[int, float]] = []
    for pattern in (_RENT_AFTER_RE, _RENT_BEFORE_RE):
        for m in pattern.finditer(text):
            is_rent = m["period"] or deal == "rent" or _rent_said_before(text, m.start())
            if is_rent and (value := _rent_value(m, m["period"])) is not None:
                found.append((m.start(), value))
                break
    for m in _RENT_LABEL_RE.finditer(text):
        period = m["period"] or ("天" if m["label"].startswith("日") else None)
        if (value := _rent_value(m, period)) is not None:
            found.append((m.start(), value))
            break
    return min(found)[1] if found else None


def _rent_said_before(text: str, pos: int) -> bool:
    """Whether 租 occurs earlier in the same sentence."""
    start, _ = _clause_bounds(text, pos, pos, _SENTENCE_BREAKS)
    return "租" in text[start:pos]


def _rent_value(m: re.Match[str], period: str | None) -> float | None:
    """Convert a matched rent figure (upper end of a range) to 元/㎡/月; None for totals."""
    figure = m["hi"] or m["lo"]
    if any(c in _MULTIPLIER_CHARS for c in figure):
        return None  # 月租5万 is a total, not a price per ㎡
    value = parse_number(figure)
    if not value:
        return None
    period = (period or "月").lower()
    if period in ("天", "日", "day"):
        value = units.rent_per_day_to_month(value)
    elif period in ("年", "year"):
        value = units.rent_per_year_to_month(value)
    return _round(value)


def _budget_wan(text: str) -> float | None:
    """The purchase budget in 万元 (预算/总价 …), the upper figure of a range."""
    for m in _BUDGET_RE.finditer(text):
        low, high = _money_wan(m)
        value = high if high is not None else low
        if value:
            return _round(value)
    return None


def _tax_wan(tax: str, text: str) -> float | None:
    """Annual tax in 万元 from the tax field, else from a tax-labelled figure in need/use."""
    for m in _TAX_LABELED_RE.finditer(tax):
        if (low := _money_wan(m)[0]) is not None:
            return _round(low)
    for m in _AMOUNT_RE.finditer(tax):
        if _not_annual_tax(tax, m.start(), m.end()):
            continue
        if (low := _money_wan(m)[0]) is not None:
            return _round(low)
    for m in _TAX_LABELED_RE.finditer(text):
        if (low := _money_wan(m)[0]) is not None:
            return _round(low)
    return None


def _not_annual_tax(text: str, start: int, end: int) -> bool:
    """Whether a label marks the figure as something else (3亿产值, 营收2亿) or per 亩 (亩均)."""
    if after := _LABEL_AFTER_RE.match(text, end):
        return after.lastgroup != "tax"
    clause_start, _ = _clause_bounds(text, start, start, _BREAKS)
    labels = list(_LABEL_RE.finditer(text, clause_start, start))
    if any(label.lastgroup == "per_mu" for label in labels):
        return True
    return bool(labels) and labels[-1].lastgroup == "other"


def _money_wan(m: re.Match[str]) -> tuple[float | None, float | None]:
    """(low, high) of a matched amount in 万元; a bare number already means 万元."""
    low, high = parse_number(m["lo"]), parse_number(m["hi"]) if m["hi"] else None
    if low is None:
        return None, None
    in_yuan = m["unit"] is not None
    low_scaled = _has_multiplier(m["lo"])
    if high is not None and _has_multiplier(m["hi"]) and not low_scaled:
        shared = _share_multiplier(m["lo"], low, m["hi"], high)
        low_scaled, low = shared != low, shared

    def wan(value: float, scaled: bool) -> float:
        return units.yuan_to_wan(value) if scaled or in_yuan else value

    return wan(low, low_scaled), (wan(high, _has_multiplier(m["hi"])) if high is not None else None)


# --- industry -------------------------------------------------------------------------------


def _industry(use: str, need: str) -> str | None:
    """The industry code named first in use, else in need; 'other' if use names none."""
    for text in (use, need):
        if m := _INDUSTRY_RE.search(text):
            return _INDUSTRY_BY_WORD[m.group().casefold()]
    return None if _is_blank(use) else "other"


def _is_blank(text: str) -> bool:
    """Whether text says nothing: only punctuation, symbols, emoji or a placeholder (无, 待定)."""
    core = "".join(c for c in text if unicodedata.category(c)[0] in "LN").casefold()
    return not core or core in _PLACEHOLDERS


# --- helpers --------------------------------------------------------------------------------


def _number_span(figure: str) -> tuple[float, float] | None:
    """(value, value) for one number, (low, high) for 两三千, None if not a number."""
    value = parse_number(figure)
    if value is not None:
        return value, value
    return parse_number_range(figure)


def _has_multiplier(figure: str | None) -> bool:
    """Whether a written number carries 万 or 亿."""
    return bool(figure) and any(c in _MULTIPLIER_CHARS for c in figure)


def _share_multiplier(low_text: str, low: float, high_text: str, high: float) -> float:
    """In "1-2万" the low end shares the high end's unit: 1 → 10000 (when that stays ≤ high)."""
    if any(c in _UNIT_CHARS for c in low_text):
        return low
    m = re.search(rf"[{_UNIT_CHARS}]+$", high_text)
    scale = parse_number("1" + m.group()) if m else None
    if scale and low * scale <= high:
        return low * scale
    return low


def _clause_bounds(text: str, start: int, end: int, breaks: str) -> tuple[int, int]:
    """The span around [start, end) up to the nearest breaks, at most _CLAUSE_REACH each side."""
    # The reach keeps this local, so parsing stays linear on long text without punctuation.
    low, high = max(0, start - _CLAUSE_REACH), min(len(text), end + _CLAUSE_REACH)
    left = max(low - 1, *(text.rfind(c, low, start) for c in breaks)) + 1
    rights = [i for c in breaks if (i := text.find(c, end, high)) != -1]
    return left, min(rights, default=high)


def _round(value: float | None) -> float | None:
    """Round a stored figure to 2 decimals; None stays None."""
    return None if value is None else units.round2(value)
