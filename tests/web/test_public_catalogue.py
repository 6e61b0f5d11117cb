"""The public catalogue: only available properties, public fields only, filters, meta tags."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from PIL import Image

from crm.database import write_transaction
from crm.models import Park
from crm.timeutil import utcnow
from tests.builders import make_inquiry, make_park, make_property

SECRET_NOTE = "业主底价可谈-内部"
SECRET_TAX = "987.65"
SECRET_PARK_TAX = "43.21"


@pytest.fixture
def park(app):
    return make_park(
        "丽水经开区南城片区",
        "丽水",
        district="莲都",
        min_tax_per_mu_wan=float(SECRET_PARK_TAX),
        description="南城片区标准厂房集中。",
    )


@pytest.fixture
def factory(park):
    return make_property(
        park,
        "南城标准厂房A1栋",
        area_sqm=2200.0,
        ceiling_m=9.0,
        rent_yuan_sqm_month=18.0,
        land_area_mu=12.0,
        internal_notes=SECRET_NOTE,
        min_annual_tax_wan=float(SECRET_TAX),
        description="交通便利，可分割。",
    )


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_only_available_properties_are_listed(client, park, factory):
    make_property(park, "已租厂房", status="leased")
    make_property(park, "已售厂房", status="sold")
    make_property(park, "下架厂房", status="withdrawn")
    make_property(park, "锁定厂房", status="reserved")
    for path in ("/", "/listings"):
        body = page(client, path)
        assert "南城标准厂房A1栋" in body
        for title in ("已租厂房", "已售厂房", "下架厂房", "锁定厂房"):
            assert title not in body


@pytest.mark.parametrize("path", ["/", "/listings", "/listings?kind=factory", "/listings/{id}"])
def test_internal_fields_never_reach_public_pages(client, factory, path):
    body = page(client, path.format(id=factory.id))
    assert SECRET_NOTE not in body
    assert SECRET_TAX not in body
    assert SECRET_PARK_TAX not in body
    assert "internal" not in body.lower()


def test_a_reserved_propertys_lead_is_never_shown(client, park):
    lead = make_inquiry(company="保密客户科技有限公司").lead
    prop = make_property(park, "锁定厂房", status="reserved", reserved_for_lead_id=lead.id)
    assert client.get(f"/listings/{prop.id}").status_code == 404
    assert "保密客户" not in page(client, "/listings")


def test_the_detail_page_shows_public_facts_and_the_inquiry_button(client, factory):
    body = page(client, f"/listings/{factory.id}")
    assert "南城标准厂房A1栋" in body and "交通便利，可分割。" in body
    assert "2,200㎡" in body
    assert f'href="/inquiry?property={factory.id}&amp;source=website"' in body
    assert "南城片区标准厂房集中。" in body  # the park's own description is public


@pytest.mark.parametrize("status", ["leased", "sold", "withdrawn", "reserved"])
def test_the_detail_page_is_404_unless_available(client, park, status):
    prop = make_property(park, "不可见", status=status)
    assert client.get(f"/listings/{prop.id}").status_code == 404


def test_the_detail_page_is_404_for_an_unknown_property(client):
    assert client.get("/listings/999999").status_code == 404


def test_an_archived_parks_properties_leave_the_catalogue(client, park, factory):
    with write_transaction() as session:
        session.get(Park, park.id).archived_at = utcnow()
    assert "南城标准厂房A1栋" not in page(client, "/listings")
    assert client.get(f"/listings/{factory.id}").status_code == 404


def test_the_plain_description_reads_like_a_listing(client, factory):
    body = page(client, f"/listings/{factory.id}?lang=en")
    expected = "丽水经开区南城片区 · factory 2,200㎡ · ceiling 9 m · for rent 18 yuan/㎡/month"
    assert expected in body


def test_land_is_described_in_mu(client, park):
    prop = make_property(
        park,
        "工业用地",
        kind="land",
        deals=["sale"],
        area_sqm=None,
        land_area_mu=30.0,
        sale_price_wan=2700.0,
    )
    body = page(client, f"/listings/{prop.id}?lang=en")
    assert "land 30 mu · for sale 2,700 wan yuan" in body


def test_pages_carry_title_description_and_open_graph(client, factory):
    body = page(client, f"/listings/{factory.id}")
    assert re.search(r"<title>南城标准厂房A1栋 · ", body)
    assert '<meta name="description" content="丽水经开区南城片区 · ' in body
    assert '<meta property="og:title" content="南城标准厂房A1栋">' in body
    assert '<meta property="og:description"' in body
    assert "og:image" not in body  # no photo yet
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in body
    listing = page(client, "/listings")
    assert "og:title" in listing and "<title>" in listing


def test_og_image_appears_when_a_photo_exists(
    client, auth, manager, factory, tmp_path, app, monkeypatch
):
    monkeypatch.setitem(app.config, "CRM_PHOTO_DIR", str(tmp_path))
    out = BytesIO()
    Image.new("RGB", (640, 480), (10, 10, 10)).save(out, "WEBP")
    out.seek(0)
    auth.login(manager)
    upload = {"photo": (out, "a.webp")}
    assert client.post(f"/app/properties/{factory.id}/photos", data=upload).status_code == 303
    auth.logout()
    body = page(client, f"/listings/{factory.id}")
    image = re.search(r'<meta property="og:image" content="http://[^"]+/photos/(\w+)\.webp">', body)
    assert image
    assert f"/photos/{image.group(1)}_t.webp" in page(client, "/listings")


def test_filters_by_city_park_kind_deal_and_area_band(client, park):
    hangzhou = make_park("杭州钱塘新区", "杭州")
    make_property(park, "丽水厂房2千", area_sqm=2000.0)
    make_property(park, "丽水仓库", kind="warehouse", area_sqm=5000.0)
    make_property(park, "丽水出售厂房", deals=["sale"], area_sqm=12000.0)
    make_property(hangzhou, "钱塘厂房", area_sqm=800.0)
    titles = ("丽水厂房2千", "丽水仓库", "丽水出售厂房", "钱塘厂房")

    def listed(query: str) -> set[str]:
        body = page(client, "/listings?" + query)
        return {t for t in titles if t in body}

    assert listed("city=杭州") == {"钱塘厂房"}
    assert listed(f"park_id={park.id}") == {"丽水厂房2千", "丽水仓库", "丽水出售厂房"}
    assert listed("kind=warehouse") == {"丽水仓库"}
    assert listed("deal=sale") == {"丽水出售厂房"}
    assert listed("band=1000-3000") == {"丽水厂房2千"}
    assert listed("band=lt1000") == {"钱塘厂房"}
    assert listed("band=gt10000") == {"丽水出售厂房"}
    assert listed("band=nonsense&kind=") == set(titles)


def test_a_property_too_small_is_outside_the_band_and_every_match(client, auth, manager, park):
    make_property(park, "大小合适", area_sqm=2000.0)
    make_property(park, "太小的厂房", area_sqm=500.0)
    lead = make_inquiry(need="求租标准厂房2000平，层高8米").lead  # 1,600–2,400 ㎡
    band = page(client, "/listings?band=1000-3000")
    assert "大小合适" in band and "太小的厂房" not in band
    auth.login(manager)
    lead_page = page(client, f"/app/leads/{lead.id}")
    matches = page(client, f"/app/leads/{lead.id}/matches")
    card = lead_page.split('id="matches"', 1)[1].split("</section>", 1)[0]
    for body in (card, matches):
        assert "大小合适" in body
        assert "太小的厂房" not in body


def test_the_catalogue_is_paginated(client, park):
    for n in range(15):
        make_property(park, f"厂房{n:02d}号")
    first, second = page(client, "/listings"), page(client, "/listings?page=2")
    assert "厂房14号" in first and "厂房00号" not in first
    assert "厂房00号" in second
    assert 'rel="next"' in first


def test_the_home_page_shows_the_newest_available_properties(client, park):
    make_property(park, "首页可见厂房")
    make_property(park, "首页不见厂房", status="leased")
    body = page(client, "/")
    assert "首页可见厂房" in body and "首页不见厂房" not in body
    assert 'href="/listings"' in body


@pytest.mark.parametrize(
    "query",
    ["page=x", "page=99", "park_id=²", "park_id=99999999999", "band=<script>", "city=" + "丽" * 80],
)
def test_odd_query_strings_never_break_the_catalogue(client, factory, query):
    assert client.get("/listings?" + query).status_code == 200
