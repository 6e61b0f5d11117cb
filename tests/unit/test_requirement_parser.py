"""Unit tests for the requirement parser: a table of real-looking inquiries, then each rule."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.requirements.parser import (
    DEALS,
    INDUSTRIES,
    KINDS,
    REQUIREMENT_FIELDS,
    Requirement,
    parse_requirement,
)
from crm.requirements.places import PREFECTURES, canonical_place, find_places, prefecture_of

LONG_FILLER = "我们公司专注于产品研发与销售，团队经验丰富，客户遍布全国。" * 60


def case(case_id: str, need: str, use: str = "", tax: str = "", parks=(), **expected):
    """One table row: the inquiry and every field that must be set (all others must be None)."""
    return pytest.param(need, use, tax, tuple(parks), expected, id=case_id)


INQUIRIES = [
    case(
        "lishui-precision-everything-in-one-sentence",
        "您好，我司是一家做精密五金的企业，现因扩产需要在缙云或者莲都找一个3000平左右的单层厂房，"
        "层高不低于8米，行车10吨，用电400KVA，租金预算15元以内，联系我13391219793",
        "精密五金冲压件",
        "年税收约500万",
        kind="factory",
        deal="rent",
        area_min_sqm=2400.0,
        area_max_sqm=3600.0,
        location="缙云，莲都",
        tax_wan=500.0,
        power_kva_min=400.0,
        ceiling_m_min=8.0,
        rent_max_yuan_sqm_month=15.0,
        industry="precision",
    ),
    case(
        "land-purchase-mu-range",
        "求购工业用地20-30亩，丽水市范围内均可",
        "新材料（碳纤维复合材料）",
        "达产后年纳税2000万以上",
        kind="land",
        deal="buy",
        area_min_sqm=13333.33,
        area_max_sqm=20000.0,
        location="丽水",
        tax_wan=2000.0,
        industry="materials",
    ),
    case(
        "park-name-beats-city-inside-it",
        "想租丽水经开区的标准厂房，2000平方左右",
        "半导体封装测试",
        "300万",
        parks=["丽水经开区", "缙云工业园区"],
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
        location="丽水经开区",
        tax_wan=300.0,
        industry="semiconductor",
    ),
    case(
        "park-unknown-falls-back-to-city",
        "想租丽水经开区的标准厂房，2000平方左右",
        "半导体封装测试",
        "300万",
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
        location="丽水",
        tax_wan=300.0,
        industry="semiconductor",
    ),
    case(
        "park-and-places-in-order-from-need-then-use",
        "缙云工业园区或者青田都可以，厂房1000平",
        "在丽水做阀门",
        parks=["缙云工业园区"],
        kind="factory",
        area_min_sqm=800.0,
        area_max_sqm=1200.0,
        location="缙云工业园区，青田，丽水",
        industry="precision",
    ),
    case(
        "full-width-digits",
        "求租厂房２０００平米",
        "服装加工",
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
        industry="fashion",
    ),
    case(
        "spaces-between-number-and-unit",
        "厂房 2000 平方 出租",
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
    ),
    case(
        "phone-year-and-headcount-are-not-areas",
        "联系电话13391219793，2026年投产，员工200人，需要厂房",
        "汽车配件",
        kind="factory",
        industry="precision",
    ),
    case(
        "english-factory-for-rent",
        "2000 sqm factory for rent in Hangzhou",
        "semiconductor packaging",
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
        location="杭州",
        industry="semiconductor",
    ),
    case(
        "english-warehouse-lease",
        "need 5000 m2 warehouse to lease near Ningbo port",
        "logistics",
        kind="warehouse",
        deal="rent",
        area_min_sqm=4000.0,
        area_max_sqm=6000.0,
        location="宁波",
        industry="logistics",
    ),
    case(
        "english-land-in-mu",
        "Looking to buy land of 30 mu in Jiaxing",
        kind="land",
        deal="buy",
        area_min_sqm=16000.0,
        area_max_sqm=24000.0,
        location="嘉兴",
    ),
    case("all-empty", "", "", ""),
    case(
        "html-and-script-are-just-text",
        "<script>alert('x')</script><b>厂房</b>2000平",
        "<img src=x onerror=alert(1)>",
        kind="factory",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
        industry="other",
    ),
    case(
        "emoji-everywhere",
        "🏭厂房🏭 2000平😀 租💰",
        "👍👍",
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
    ),
    case(
        "very-long-need",
        LONG_FILLER + "需要厂房3000平，在嘉兴",
        kind="factory",
        area_min_sqm=2400.0,
        area_max_sqm=3600.0,
        location="嘉兴",
    ),
    case(
        "annex-area-after-main-area",
        "厂房2000平，另需办公楼500平",
        kind="factory",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
    ),
    case(
        "dormitory-area-before-main-area",
        "宿舍300平，厂房2000平，租",
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
    ),
    case(
        "per-floor-area-gives-way-to-total",
        "需要标准厂房一栋，4层，每层1500平，总共6000平",
        kind="factory",
        area_min_sqm=4800.0,
        area_max_sqm=7200.0,
    ),
    case(
        "land-to-build-on-keeps-land-area",
        "需要一块工业用地30亩，建设厂房2万平",
        kind="land",
        area_min_sqm=16000.0,
        area_max_sqm=24000.0,
    ),
    case(
        "plot-size-then-factory-area",
        "占地30亩，厂房建筑面积15000平",
        kind="factory",
        area_min_sqm=12000.0,
        area_max_sqm=18000.0,
    ),
    case(
        "two-adjacent-numerals-are-a-range",
        "两三千平的车间，租",
        kind="factory",
        deal="rent",
        area_min_sqm=2000.0,
        area_max_sqm=3000.0,
    ),
    case(
        "wan-shared-by-range-and-yi-tax",
        "1-2万平方厂房，租买都可以",
        "服装",
        "1.2亿",
        kind="factory",
        deal="either",
        area_min_sqm=10000.0,
        area_max_sqm=20000.0,
        tax_wan=12000.0,
        industry="fashion",
    ),
    case(
        "minimum-and-maximum-in-two-clauses",
        "厂房面积不小于1000平米，不大于2000平米",
        kind="factory",
        area_min_sqm=1000.0,
        area_max_sqm=2000.0,
    ),
    case(
        "above-and-below-joined",
        "2000平以上，5000平以下的仓库",
        kind="warehouse",
        area_min_sqm=2000.0,
        area_max_sqm=5000.0,
    ),
    case(
        "warehouse-maximum-only",
        "不超过3000平米的仓库",
        "电商仓储",
        kind="warehouse",
        area_max_sqm=3000.0,
        industry="logistics",
    ),
    case(
        "rent-per-day",
        "0.8元/平/天，厂房1000平求租",
        kind="factory",
        deal="rent",
        area_min_sqm=800.0,
        area_max_sqm=1200.0,
        rent_max_yuan_sqm_month=24.33,
    ),
    case(
        "purchase-budget",
        "预算3000万，求购厂房",
        kind="factory",
        deal="buy",
        buy_max_wan=3000.0,
    ),
    case(
        "total-price-ceiling",
        "总价不超过2000万，买个厂房",
        kind="factory",
        deal="buy",
        buy_max_wan=2000.0,
    ),
    case(
        "spec-sheet-with-symbols",
        "厂房要求：面积1.2万㎡以上；层高≥9m；地面承重≥3t/㎡；配电≥800kVA",
        kind="factory",
        area_min_sqm=12000.0,
        power_kva_min=800.0,
        ceiling_m_min=9.0,
        floor_load_t_min=3.0,
    ),
    case(
        "floor-load-in-kg-and-floor-number-is-not-area",
        "楼面承重500公斤每平方，二楼以上也可以",
        floor_load_t_min=0.5,
    ),
    case("floor-load-in-kn", "荷载10kN/m2的多层厂房", kind="factory", floor_load_t_min=1.0),
    case("power-in-kilowatt", "用电500千瓦，净高8m", power_kva_min=500.0, ceiling_m_min=8.0),
    case("kilovolt-line-is-not-capacity", "需要10kV专线，变压器容量1250kVA", power_kva_min=1250.0),
    case(
        "buy-not-rent-and-per-mu-tax-ignored",
        "只买不租，土地50亩",
        "",
        "亩均税收30万",
        kind="land",
        deal="buy",
        area_min_sqm=26666.67,
        area_max_sqm=40000.0,
    ),
    case(
        "rooftop-and-shanghai-are-not-zhejiang-places",
        "厂房带天台，上海宁波都可以",
        kind="factory",
        location="宁波",
    ),
    case(
        "guangdong-yangjiang-is-not-dongyang",
        "广东阳江的企业想来浙江发展，要在东阳买地",
        kind="land",
        deal="buy",
        location="东阳",
    ),
    case(
        "road-and-bridge-is-not-luqiao",
        "道路桥梁材料生产，需要厂房",
        "路桥工程材料",
        kind="factory",
        industry="other",
    ),
    case(
        "hangzhou-bay-new-area-is-not-hangzhou",
        "在杭州湾新区或者慈溪找厂房",
        kind="factory",
        location="杭州湾新区，慈溪",
    ),
    case(
        "tax-stated-in-need",
        "年纳税500万，需要厂房3000平",
        kind="factory",
        area_min_sqm=2400.0,
        area_max_sqm=3600.0,
        tax_wan=500.0,
    ),
    case("tax-skips-output-value", "", "", "产值1亿，税收800万", tax_wan=800.0),
    case("tax-skips-year", "", "", "2026年预计300万", tax_wan=300.0),
    case("tax-range-gives-lower-bound", "", "", "300-500万", tax_wan=300.0),
    case("tax-yi-range-shares-unit", "", "", "1-2亿", tax_wan=10000.0),
    case("tax-bare-number-is-wan", "", "", "500", tax_wan=500.0),
    case("tax-in-yuan", "", "", "3000000元", tax_wan=300.0),
    case("tax-w-shorthand", "", "", "300w", tax_wan=300.0),
    case("tax-placeholder", "", "", "暂无"),
    case("tax-per-year-suffix", "", "", "约2千万/年", tax_wan=2000.0),
    case("tax-chinese-numerals", "", "", "一千万", tax_wan=1000.0),
    case("tax-percentage-is-not-tax", "", "", "税收增长10%"),
    case(
        "colloquial-factory-and-ge-pingfang",
        "找个厂子，两千个平方",
        "做鞋的",
        kind="factory",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
        industry="fashion",
    ),
    case(
        "cubic-fang-is-not-an-area-unit",
        "想在温州龙湾租个仓库，5000方",
        "快递分拣中心",
        kind="warehouse",
        deal="rent",
        location="温州，龙湾",
        industry="logistics",
    ),
    case(
        "cold-store",
        "需要冷库3000平米，要求-18度",
        "冷链食品",
        kind="warehouse",
        area_min_sqm=2400.0,
        area_max_sqm=3600.0,
        industry="logistics",
    ),
    case(
        "office-in-xihu",
        "西湖区找个办公室",
        "软件开发",
        kind="office",
        location="西湖",
        industry="digital",
    ),
    case(
        "rent-label-without-area-unit",
        "租金20元左右，厂房1000平",
        kind="factory",
        deal="rent",
        area_min_sqm=800.0,
        area_max_sqm=1200.0,
        rent_max_yuan_sqm_month=20.0,
    ),
    case("monthly-total-rent-is-not-a-price", "月租金5万以内的厂房", kind="factory", deal="rent"),
    case(
        "unit-sale-price-is-not-rent-or-budget",
        "厂房出售，单价3000元/平",
        kind="factory",
        deal="buy",
    ),
    case("ceiling-range-gives-minimum", "层高8-10米的厂房", kind="factory", ceiling_m_min=8.0),
    case("crane-tonnage-is-not-floor-load", "层高要求不低于10米，行车10吨", ceiling_m_min=10.0),
    case("megawatts", "需要2MW电力的厂房", kind="factory", power_kva_min=2000.0),
    case(
        "rent-or-sale-both-fine",
        "厂房租售均可，2000平",
        kind="factory",
        deal="either",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
    ),
    case(
        "rent-or-buy-land-in-mu",
        "租或买都行，土地10亩",
        kind="land",
        deal="either",
        area_min_sqm=5333.33,
        area_max_sqm=8000.0,
    ),
    case("negated-purchase", "不考虑购买，只租厂房", kind="factory", deal="rent"),
    case(
        "decimal-mu",
        "12.5亩工业用地",
        kind="land",
        area_min_sqm=6666.67,
        area_max_sqm=10000.0,
    ),
    case(
        "chinese-numeral-area",
        "三千五百平方米标准厂房",
        kind="factory",
        area_min_sqm=2800.0,
        area_max_sqm=4200.0,
    ),
    case("wan-area", "1.5万平厂房", kind="factory", area_min_sqm=12000.0, area_max_sqm=18000.0),
    case(
        "approximate-range-stays-range",
        "需要厂房约2000-3000平方米",
        kind="factory",
        area_min_sqm=2000.0,
        area_max_sqm=3000.0,
    ),
    case(
        "full-width-tilde-range",
        "厂房大小：2000～3000㎡",
        kind="factory",
        area_min_sqm=2000.0,
        area_max_sqm=3000.0,
    ),
    case(
        "dao-range",
        "1500到2500平方的车间",
        kind="factory",
        area_min_sqm=1500.0,
        area_max_sqm=2500.0,
    ),
    case(
        "zhi-range",
        "1500至2500平厂房",
        kind="factory",
        area_min_sqm=1500.0,
        area_max_sqm=2500.0,
    ),
    case("hectares", "需要2公顷土地", kind="land", area_min_sqm=16000.0, area_max_sqm=24000.0),
    case(
        "placeholder-use-is-no-industry",
        "厂房1000平",
        "无",
        kind="factory",
        area_min_sqm=800.0,
        area_max_sqm=1200.0,
    ),
    case(
        "unclassified-use-is-other",
        "厂房1000平",
        "生产",
        kind="factory",
        area_min_sqm=800.0,
        area_max_sqm=1200.0,
        industry="other",
    ),
    case(
        "industry-from-need-when-use-is-empty",
        "做芯片封装，需要厂房",
        kind="factory",
        industry="semiconductor",
    ),
    case("chemical-land", "需要化工园区的土地", "涂料生产", kind="land", industry="chemical"),
    case("food-factory", "食品厂房，要有冷库", "烘焙食品加工", kind="factory", industry="food"),
    case(
        "medical-devices",
        "医疗器械生产，需要净化车间1000平",
        "二类医疗器械",
        kind="factory",
        area_min_sqm=800.0,
        area_max_sqm=1200.0,
        industry="health",
    ),
    case(
        "typos-and-ascii-punctuation",
        "求租厂方2000平米,层高7m,电300kva",
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
        power_kva_min=300.0,
        ceiling_m_min=7.0,
    ),
    case(
        "many-numbers-in-one-sentence",
        "3栋厂房共6000平，每栋2000平，单层层高9米，需要1000KVA变压器，2025年底前入驻",
        kind="factory",
        area_min_sqm=4800.0,
        area_max_sqm=7200.0,
        power_kva_min=1000.0,
        ceiling_m_min=9.0,
    ),
    case(
        "ascii-thousands-separator",
        "厂房2,000平方米出租",
        kind="factory",
        deal="rent",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
    ),
    case(
        "places-with-suffixes",
        "嘉兴市南湖区或者海宁市都行",
        location="嘉兴，南湖，海宁",
    ),
    case(
        "former-district-maps-to-current",
        "杭州江干区的仓库",
        kind="warehouse",
        location="杭州，上城",
    ),
    case("lowercase-it-is-not-it-industry", "", "it is a secret", industry="other"),
    case("platform-is-not-one-sqm", "统一平台运营，需要办公室", kind="office"),
    case(
        "price-per-mu-is-not-an-area",
        "30万一亩的土地，要50亩",
        kind="land",
        area_min_sqm=26666.67,
        area_max_sqm=40000.0,
    ),
    case(
        "take-land-in-longquan",
        "打算在龙泉拿地建厂，约40亩",
        "竹木制品",
        kind="land",
        deal="buy",
        area_min_sqm=21333.33,
        area_max_sqm=32000.0,
        location="龙泉",
        industry="other",
    ),
    case("rent-per-year", "租金240元/平/年", deal="rent", rent_max_yuan_sqm_month=20.0),
    case(
        "rent-price-before-figure",
        "每平米18块钱每月，求租1000平厂房",
        kind="factory",
        deal="rent",
        area_min_sqm=800.0,
        area_max_sqm=1200.0,
        rent_max_yuan_sqm_month=18.0,
    ),
    case("qi-is-minimum", "1000平起的标准厂房", kind="factory", area_min_sqm=1000.0),
    case("yinei-is-maximum", "2000平方以内的厂房", kind="factory", area_max_sqm=2000.0),
    case(
        "duo-is-a-lone-figure",
        "两千多平的厂房",
        kind="factory",
        area_min_sqm=1600.0,
        area_max_sqm=2400.0,
    ),
    case(
        "wechat-style-run-on",
        "老板你好 我们想在义乌或者金华开发区附近租个1000-1500平的仓库 放货用的 价格别太贵 "
        "最好一楼 能进大货车 谢谢",
        "跨境电商仓",
        kind="warehouse",
        deal="rent",
        area_min_sqm=1000.0,
        area_max_sqm=1500.0,
        location="义乌，金华",
        industry="logistics",
    ),
    case(
        "buyer-with-tax-and-budget",
        "我司拟在台州湾新区购买土地约50亩或者现成厂房3万平方，预算1.5亿，层高需12米以上",
        "新能源汽车零部件（电机、电控）",
        "达产后年税收5000万",
        kind="land",
        deal="buy",
        area_min_sqm=26666.67,
        area_max_sqm=40000.0,
        location="台州",
        tax_wan=5000.0,
        ceiling_m_min=12.0,
        buy_max_wan=15000.0,
        industry="precision",
    ),
    case(
        "pharma-gmp-workshop",
        "寻找GMP标准车间，面积约5000㎡，层高5.5米，楼面荷载800kg/㎡，用电1000KVA，"
        "可以接受温州或丽水",
        "生物医药（制剂）",
        "首年纳税300万，三年后1000万",
        kind="factory",
        area_min_sqm=4000.0,
        area_max_sqm=6000.0,
        location="温州，丽水",
        tax_wan=300.0,
        power_kva_min=1000.0,
        ceiling_m_min=5.5,
        floor_load_t_min=0.8,
        industry="health",
    ),
    case(
        "numbered-list-of-requirements",
        "要求：1、厂房面积3000㎡；2、层高8m；3、电力500kva",
        kind="factory",
        area_min_sqm=2400.0,
        area_max_sqm=3600.0,
        power_kva_min=500.0,
        ceiling_m_min=8.0,
    ),
    case(
        "urgent-small-workshop-with-phone",
        "急！急！急！求租500平小厂房，价格便宜点，联系王先生13800138000",
        "小型五金加工",
        "50",
        kind="factory",
        deal="rent",
        area_min_sqm=400.0,
        area_max_sqm=600.0,
        tax_wan=50.0,
        industry="precision",
    ),
    case(
        "per-floor-then-total-with-places",
        "温州市瓯海区，2层，每层800平，共1600平",
        "眼镜加工",
        "100万元",
        area_min_sqm=1280.0,
        area_max_sqm=1920.0,
        location="温州，瓯海",
        tax_wan=100.0,
        industry="fashion",
    ),
    case(
        "buy-with-budget-and-area",
        "买厂房，预算2千万以内，面积3千平左右",
        kind="factory",
        deal="buy",
        area_min_sqm=2400.0,
        area_max_sqm=3600.0,
        buy_max_wan=2000.0,
    ),
    case(
        "mu-of-land-and-ge-yi",
        "100亩地",
        "新能源电池",
        "3个亿",
        kind="land",
        area_min_sqm=53333.33,
        area_max_sqm=80000.0,
        tax_wan=30000.0,
        industry="materials",
    ),
    case(
        "monthly-total-rent-next-to-area",
        "3000平方米厂房，月租金不超过6万元",
        kind="factory",
        deal="rent",
        area_min_sqm=2400.0,
        area_max_sqm=3600.0,
    ),
    case(
        "data-centre-power",
        "数据中心项目需要土地20亩，电力容量2万千伏安",
        "IDC",
        kind="land",
        area_min_sqm=10666.67,
        area_max_sqm=16000.0,
        power_kva_min=20000.0,
        industry="digital",
    ),
]


@pytest.mark.parametrize(("need", "use", "tax", "parks", "expected"), INQUIRIES)
def test_inquiry_parses_to_the_whole_expected_requirement(need, use, tax, parks, expected):
    assert parse_requirement(need, use, tax, park_names=parks).as_dict() == (
        Requirement(**expected).as_dict()
    )


def test_the_table_holds_at_least_seventy_inquiries():
    assert len(INQUIRIES) >= 70


# --- the record ---------------------------------------------------------------------------


def test_fields_are_in_the_documented_order():
    assert REQUIREMENT_FIELDS == (
        "kind",
        "deal",
        "area_min_sqm",
        "area_max_sqm",
        "location",
        "tax_wan",
        "power_kva_min",
        "ceiling_m_min",
        "floor_load_t_min",
        "rent_max_yuan_sqm_month",
        "buy_max_wan",
        "industry",
    )


def test_vocabularies():
    assert KINDS == ("factory", "land", "warehouse", "office")
    assert DEALS == ("rent", "buy", "either")
    assert INDUSTRIES[-1] == "other"
    assert set(INDUSTRIES) == {
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
    }


def test_as_dict_lists_every_field_in_order():
    requirement = parse_requirement("厂房2000平", "芯片")
    assert list(requirement.as_dict()) == list(REQUIREMENT_FIELDS)
    assert requirement.as_dict()["industry"] == "semiconductor"


def test_requirement_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        parse_requirement("厂房").kind = "land"  # type: ignore[misc]


def test_requirement_builds_positionally_in_field_order():
    values = tuple(range(len(REQUIREMENT_FIELDS)))
    assert tuple(Requirement(*values).as_dict().values()) == values


def test_none_inputs_are_treated_as_empty():
    assert parse_requirement(None, None, None) == Requirement()  # type: ignore[arg-type]


# --- area ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "expected"),
    [
        ("2000平", (1600.0, 2400.0)),
        ("2000平方", (1600.0, 2400.0)),
        ("2000㎡", (1600.0, 2400.0)),
        ("2000平方米", (1600.0, 2400.0)),
        ("2000m2", (1600.0, 2400.0)),
        ("2000M2", (1600.0, 2400.0)),
        ("2000m²", (1600.0, 2400.0)),
        ("2000 sqm", (1600.0, 2400.0)),
        ("2000 square meters", (1600.0, 2400.0)),
        ("2000平米", (1600.0, 2400.0)),
        ("2000 ㎡", (1600.0, 2400.0)),
        ("２０００平米", (1600.0, 2400.0)),
        ("2000 平方", (1600.0, 2400.0)),
        ("2000个平方", (1600.0, 2400.0)),
        ("两千平", (1600.0, 2400.0)),
        ("1.5万平", (12000.0, 18000.0)),
        ("1.5w平", (12000.0, 18000.0)),
        ("一万五千平方米", (12000.0, 18000.0)),
        ("30亩", (16000.0, 24000.0)),
        ("三十亩", (16000.0, 24000.0)),
        ("15亩", (8000.0, 12000.0)),
        ("1公顷", (8000.0, 12000.0)),
        ("2500.5平", (2000.4, 3000.6)),
    ],
)
def test_area_units_and_lone_figure_plus_minus_20_percent(need, expected):
    requirement = parse_requirement(need)
    assert (requirement.area_min_sqm, requirement.area_max_sqm) == expected


@pytest.mark.parametrize(
    ("need", "expected"),
    [
        ("2000平左右", (1600.0, 2400.0)),
        ("约2000平", (1600.0, 2400.0)),
        ("大约2000平", (1600.0, 2400.0)),
        ("大概2000平", (1600.0, 2400.0)),
        ("2000平上下", (1600.0, 2400.0)),
        ("2000平以上", (2000.0, None)),
        ("2000平及以上", (2000.0, None)),
        ("不少于2000平", (2000.0, None)),
        ("不低于2000平", (2000.0, None)),
        ("至少2000平", (2000.0, None)),
        ("2000平起", (2000.0, None)),
        ("≥2000平", (2000.0, None)),
        ("超过2000平", (2000.0, None)),
        ("不超过2000平", (None, 2000.0)),
        ("2000平以内", (None, 2000.0)),
        ("2000平以下", (None, 2000.0)),
        ("不到2000平", (None, 2000.0)),
        ("≤2000平", (None, 2000.0)),
        ("<2000平", (None, 2000.0)),
        ("＞2000平", (2000.0, None)),
        ("最多2000平", (None, 2000.0)),
        ("2000平之内", (None, 2000.0)),
        ("1500-2500平", (1500.0, 2500.0)),
        ("1500~2500平", (1500.0, 2500.0)),
        ("1500～2500平", (1500.0, 2500.0)),
        ("1500—2500平", (1500.0, 2500.0)),
        ("1500至2500平", (1500.0, 2500.0)),
        ("1500到2500平方", (1500.0, 2500.0)),
        ("1500平-2500平", (1500.0, 2500.0)),
        ("2500-1500平", (1500.0, 2500.0)),
        ("20-30亩", (13333.33, 20000.0)),
        ("3-5千平", (3000.0, 5000.0)),
        ("8000-1.2万平", (8000.0, 12000.0)),
        ("两千到三千平", (2000.0, 3000.0)),
        ("三四十亩", (20000.0, 26666.67)),
        ("两三千平以上", (2000.0, None)),
    ],
)
def test_area_qualifiers_and_ranges(need, expected):
    requirement = parse_requirement(need)
    assert (requirement.area_min_sqm, requirement.area_max_sqm) == expected


@pytest.mark.parametrize(
    "need",
    [
        "1500~2500",  # a range with no unit
        "面积2000",
        "手机13391219793",
        "2026年入驻",
        "员工200人",
        "投资5000万",
        "用电500kva",
        "层高8米",
        "承重3吨",
        "租金20元/平/月",
        "20元一平",
        "每亩30万",
        "3平方公里的园区",
        "统一平台",
        "平台、平面图、平均",
        "二楼以上",
    ],
)
def test_figures_without_an_area_unit_are_not_areas(need):
    requirement = parse_requirement(need)
    assert (requirement.area_min_sqm, requirement.area_max_sqm) == (None, None)


def test_area_is_read_from_use_when_need_has_none():
    requirement = parse_requirement("求租厂房", "生产车间需要800平")
    assert (requirement.area_min_sqm, requirement.area_max_sqm) == (640.0, 960.0)


def test_area_in_need_wins_over_area_in_use():
    requirement = parse_requirement("厂房3000平", "目前厂房800平不够用")
    assert (requirement.area_min_sqm, requirement.area_max_sqm) == (2400.0, 3600.0)


# --- kind and deal ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "kind"),
    [
        ("厂房", "factory"),
        ("标准厂房", "factory"),
        ("车间", "factory"),
        ("工业厂房", "factory"),
        ("租个厂", "factory"),
        ("找个厂子", "factory"),
        ("factory", "factory"),
        ("土地", "land"),
        ("工业用地", "land"),
        ("地块", "land"),
        ("用地", "land"),
        ("拿地", "land"),
        ("购地", "land"),
        ("仓库", "warehouse"),
        ("仓储", "warehouse"),
        ("库房", "warehouse"),
        ("写字楼", "office"),
        ("办公", "office"),
        ("办公室", "office"),
        ("用电", None),
        ("使用地址在杭州", None),
        ("工业地产", None),
        ("100亩地", "land"),
        ("需要一块地", "land"),
        ("找个地方放货", None),
        ("找厂家合作", None),
        ("办公家具", None),
        ("", None),
    ],
)
def test_kind_words(need, kind):
    assert parse_requirement(need).kind == kind


@pytest.mark.parametrize(
    ("need", "kind"),
    [
        ("厂房带办公", "factory"),
        ("标准厂房，配套办公楼", "factory"),
        ("厂房和仓库都可以", "factory"),
        ("办公楼，另需一栋厂房", "office"),
        ("买地自建厂房", "land"),
        ("配套办公楼", "office"),
    ],
)
def test_kind_is_the_first_word_that_is_not_an_annex(need, kind):
    assert parse_requirement(need).kind == kind


@pytest.mark.parametrize(
    ("need", "deal"),
    [
        ("租", "rent"),
        ("求租", "rent"),
        ("租赁", "rent"),
        ("租用", "rent"),
        ("出租", "rent"),
        ("for lease", "rent"),
        ("买", "buy"),
        ("求购", "buy"),
        ("购买", "buy"),
        ("出售", "buy"),
        ("转让", "buy"),
        ("购地", "buy"),
        ("拿地", "buy"),
        ("purchase", "buy"),
        ("租买都可以", "either"),
        ("租售均可", "either"),
        ("租或买", "either"),
        ("可租可买", "either"),
        ("租赁或购买", "either"),
        ("租购均可", "either"),
        ("只买不租", "buy"),
        ("只租不买", "rent"),
        ("不考虑租赁，购买", "buy"),
        ("不要租的，要买", "buy"),
        ("无需购买，租就行", "rent"),
        ("厂房2000平", None),
        ("采购原材料", None),
        ("产品销售", None),
        ("预算3000万", None),
        ("", None),
    ],
)
def test_deal_words(need, deal):
    assert parse_requirement(need).deal == deal


# --- tax ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tax", "tax_wan"),
    [
        ("300万", 300.0),
        ("300万元", 300.0),
        ("年税收3000万", 3000.0),
        ("1.2亿", 12000.0),
        ("2亿元", 20000.0),
        ("年税收约2千万", 2000.0),
        ("两千万", 2000.0),
        ("500", 500.0),
        ("５００", 500.0),
        ("1,500万", 1500.0),
        ("约300万/年", 300.0),
        ("不低于500万", 500.0),
        ("3000万以上", 3000.0),
        ("营收2亿，纳税600万", 600.0),
        ("投资3亿，年税收2000万", 2000.0),
        ("3亿产值，2000万税收", 2000.0),
        ("约一个亿", 10000.0),
        ("", None),
        ("待定", None),
        ("年产值5亿元", None),
        ("亩均税收30万", None),
        ("30万/亩", None),
        ("2026年", None),
        ("员工200人", None),
    ],
)
def test_tax_field(tax, tax_wan):
    assert parse_requirement("", "", tax).tax_wan == tax_wan


@pytest.mark.parametrize(
    ("need", "tax_wan"),
    [
        ("年纳税500万", 500.0),
        ("纳税额1000万以上", 1000.0),
        ("税收约1.5亿", 15000.0),
        ("年税收两千万，需要厂房", 2000.0),
        ("预算500万", None),
        ("投资5000万", None),
        ("亩均税收30万", None),
    ],
)
def test_tax_labelled_in_need(need, tax_wan):
    assert parse_requirement(need).tax_wan == tax_wan


def test_tax_field_wins_over_tax_in_need():
    assert parse_requirement("年纳税500万", "", "800万").tax_wan == 800.0


# --- power, ceiling, floor load -----------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "kva"),
    [
        ("500千伏安", 500.0),
        ("500kVA", 500.0),
        ("500KVA", 500.0),
        ("500 kva", 500.0),
        ("用电500千瓦", 500.0),
        ("500kW", 500.0),
        ("五百千伏安", 500.0),
        ("1.5万千伏安", 15000.0),
        ("2MVA", 2000.0),
        ("500-800kva", 500.0),
        ("10kV", None),
        ("用电量5000kWh", None),
        ("用电量5000千瓦时", None),
        ("用电500度", None),
    ],
)
def test_power(need, kva):
    assert parse_requirement(need).power_kva_min == kva


@pytest.mark.parametrize(
    ("need", "metres"),
    [
        ("层高8米", 8.0),
        ("净高8m", 8.0),
        ("檐高10米", 10.0),
        ("檐口高度9米", 9.0),
        ("层高八米", 8.0),
        ("层高要求不低于8.5米", 8.5),
        ("层高≥9M", 9.0),
        ("8米层高", 8.0),
        ("8米以上层高", 8.0),
        ("净高9米的车间", 9.0),
        ("层高8-10米", 8.0),
        ("距离高速5公里", None),
        ("宽度20米", None),
        ("2000m2", None),
    ],
)
def test_ceiling(need, metres):
    assert parse_requirement(need).ceiling_m_min == metres


@pytest.mark.parametrize(
    ("need", "tonnes"),
    [
        ("承重3吨", 3.0),
        ("楼面荷载2吨/平方", 2.0),
        ("地面承重≥3t/㎡", 3.0),
        ("承重1.5吨每平米", 1.5),
        ("荷载800kg/㎡", 0.8),
        ("楼面荷载500公斤", 0.5),
        ("荷载10kN/㎡", 1.0),
        ("3吨承重", 3.0),
        ("承重两吨", 2.0),
        ("行车10吨", None),
        ("3吨叉车", None),
        ("行车承重10吨", None),
    ],
)
def test_floor_load(need, tonnes):
    assert parse_requirement(need).floor_load_t_min == tonnes


# --- rent and budget ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("need", "rent"),
    [
        ("租金20元/平/月", 20.0),
        ("20元/㎡/月", 20.0),
        ("20元/m²/月", 20.0),
        ("20元/平方米·月", 20.0),
        ("20元每平米每月", 20.0),
        ("0.8元/平/天", 24.33),
        ("0.8元/㎡/日", 24.33),
        ("租金1元/平/天", 30.42),
        ("240元/平/年", 20.0),
        ("租金15-20元/平/月", 20.0),
        ("租金不超过20元/平", 20.0),
        ("求租，20元/平以内", 20.0),
        ("租金20元左右", 20.0),
        ("日租金0.8元", 24.33),
        ("租金二十元一平", 20.0),
        ("20元/平", None),  # no period, no 租: could be anything
        ("单价3000元/平", None),
        ("月租金5万", None),
        ("年租金100万", None),
    ],
)
def test_rent(need, rent):
    assert parse_requirement(need).rent_max_yuan_sqm_month == rent


@pytest.mark.parametrize(
    ("need", "wan"),
    [
        ("预算3000万", 3000.0),
        ("总价不超过2000万", 2000.0),
        ("购买预算：1.5亿", 15000.0),
        ("总价在1500-2000万之间", 2000.0),
        ("预算两千万左右", 2000.0),
        ("预算3000", 3000.0),
        ("预算30000000元", 3000.0),
        ("租金预算20元/平", None),
        ("预算每月5万", None),
        ("预算每亩30万", None),
        ("总投资5亿", None),
    ],
)
def test_purchase_budget(need, wan):
    assert parse_requirement(need).buy_max_wan == wan


# --- location -----------------------------------------------------------------------------

COUNTIES = [c for counties in PREFECTURES.values() for c in counties]


def test_every_county_level_division_of_zhejiang_is_known():
    assert len(PREFECTURES) == 11
    assert len(COUNTIES) == len(set(COUNTIES)) == 90


@pytest.mark.parametrize("name", [*PREFECTURES, *COUNTIES])
@pytest.mark.parametrize("suffix", ["", "市", "区", "县"])
def test_each_place_is_found_with_or_without_suffix(name, suffix):
    assert parse_requirement(f"想在{name}{suffix}找厂房").location == name


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("上海宁波", ["宁波"]),  # 海宁 straddles 上海|宁波
        ("广东阳江", []),
        ("山东阳谷", []),
        ("黄浦江边", []),
        ("浙江山区", []),
        ("道路桥梁施工", []),
        ("路桥工程公司", []),
        ("厂房带天台", []),
        ("屋顶天台可以装光伏", []),
        ("海盐加工", []),
        ("河南湖北湖南", []),
        ("三门峡", []),
        ("成都龙泉驿", []),
        ("长兴岛", []),
        ("钱塘江边", []),
        ("南宁海关", []),
        ("安吉尔净水器", []),
        ("定海神针", []),
        ("临海临港的地块", []),
        ("江苏、安徽都可以", []),
        ("Hangzhouese", []),
        ("健康、安全、环保、平安、统一", []),
    ],
)
def test_words_that_contain_place_names_are_not_places(text, places):
    assert find_places(text) == places


def test_location_order_and_duplicates():
    requirement = parse_requirement("温州或者丽水，丽水优先，温州也行", "在温州有工厂")
    assert requirement.location == "温州，丽水"


def test_location_uses_full_width_comma():
    assert parse_requirement("杭州萧山、绍兴柯桥").location == "杭州，萧山，绍兴，柯桥"


def test_park_names_match_longest_and_case_insensitively():
    parks = ["丽水经开区", "Lishui Eco Park", ""]
    assert find_places("lishui eco park或丽水经开区或丽水", parks) == [
        "Lishui Eco Park",
        "丽水经开区",
        "丽水",
    ]


def test_park_name_containing_two_places_is_one_hit():
    assert find_places("嘉兴南湖高新区", ["南湖高新区"]) == ["嘉兴", "南湖高新区"]


@pytest.mark.parametrize(
    ("name", "canonical", "prefecture"),
    [
        ("丽水市", "丽水", "丽水"),
        ("莲都区", "莲都", "丽水"),
        ("景宁畲族自治县", "景宁", "丽水"),
        ("杭城", "杭州", "杭州"),
        ("江干区", "上城", "杭州"),
        ("钱塘新区", "钱塘", "杭州"),
        ("义乌市", "义乌", "金华"),
        ("苏州", None, None),
        ("", None, None),
    ],
)
def test_canonical_place_and_prefecture(name, canonical, prefecture):
    assert canonical_place(name) == canonical
    assert prefecture_of(name) == prefecture


# --- industry -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("use", "industry"),
    [
        ("半导体", "semiconductor"),
        ("集成电路设计", "semiconductor"),
        ("芯片封装", "semiconductor"),
        ("晶圆制造", "semiconductor"),
        ("精密制造", "precision"),
        ("机械加工", "precision"),
        ("数控机床", "precision"),
        ("汽配", "precision"),
        ("健康医药", "health"),
        ("生物医药", "health"),
        ("制药", "health"),
        ("医疗器械", "health"),
        ("时尚", "fashion"),
        ("服装", "fashion"),
        ("鞋革", "fashion"),
        ("箱包", "fashion"),
        ("数字经济", "digital"),
        ("软件", "digital"),
        ("互联网", "digital"),
        ("数据中心", "digital"),
        ("AI算法", "digital"),
        ("新材料", "materials"),
        ("光电材料", "materials"),
        ("化工", "chemical"),
        ("涂料", "chemical"),
        ("电镀", "chemical"),
        ("食品", "food"),
        ("饮料", "food"),
        ("物流", "logistics"),
        ("仓储", "logistics"),
        ("电商仓", "logistics"),
        ("Chemical coatings", "chemical"),
        ("其他", "other"),
        ("自用", "other"),
        ("原材料仓库", "other"),
        ("酒店用品", "other"),
        ("新能源汽车零部件", "precision"),
        ("锂电池", "materials"),
        ("无", None),
        ("暂无", None),
        ("待定", None),
        ("N/A", None),
        ("🙂🙂", None),
        ("。。。", None),
        ("", None),
    ],
)
def test_industry_from_use(use, industry):
    assert parse_requirement("", use).industry == industry


def test_industry_in_use_wins_over_need():
    assert parse_requirement("原来做服装", "芯片封测").industry == "semiconductor"


def test_industry_keyword_in_need_beats_other_from_use():
    assert parse_requirement("我们做化工涂料", "生产").industry == "chemical"


# --- robustness ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=100), st.text(max_size=50))
def test_any_text_parses_to_a_consistent_requirement(need, use, tax):
    requirement = parse_requirement(need, use, tax)
    assert requirement.kind in (*KINDS, None)
    assert requirement.deal in (*DEALS, None)
    assert requirement.industry in (*INDUSTRIES, None)
    low, high = requirement.area_min_sqm, requirement.area_max_sqm
    assert low is None or high is None or low <= high


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=10, max_value=10**7))
def test_any_arabic_area_gives_plus_minus_20_percent(value):
    requirement = parse_requirement(f"厂房{value}平")
    assert requirement.area_min_sqm == round(value * 0.8, 2)
    assert requirement.area_max_sqm == round(value * 1.2, 2)


def test_parsing_is_deterministic():
    need = "厂房2000平，萧山或余杭，层高8米"
    assert len({parse_requirement(need, "汽配", "300万") for _ in range(5)}) == 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "unit", ["一", "1", "1-", "平", " ", "2平", "、2平", "租金", "厂房2平", "税收1万"]
)
def test_pathological_repetitions_parse_without_hanging(unit):
    """A guard against catastrophic regex backtracking (the speed itself is a benchmark)."""
    junk = unit * (20000 // len(unit))
    requirement = parse_requirement(junk, junk[:500], junk[:200])
    assert requirement.area_min_sqm is None or requirement.area_min_sqm >= 0
