"""Staff pages for parks and properties: forms with units, access, filters, photos, history."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from crm.database import write_transaction
from crm.extensions import db
from crm.models import Lead, Park, Property, PropertyEvent, PropertyPhoto
from tests.builders import make_inquiry, make_park, make_property, row_count


@pytest.fixture
def photo_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    monkeypatch.setitem(app.config, "CRM_PHOTO_DIR", str(folder))
    return folder


@pytest.fixture
def park(app):
    return make_park("丽水经开区南城片区", "丽水", district="莲都", min_tax_per_mu_wan=25)


def property_form(park: Park, **overrides: object) -> dict:
    """The property form as a browser posts it (a factory for rent, 2,000 ㎡)."""
    form = {
        "park_id": str(park.id),
        "title": "南城标准厂房B1栋",
        "kind": "factory",
        "deals": ["rent"],
        "status": "available",
        "area": "2000",
        "area_unit": "sqm",
        "land_area": "",
        "land_area_unit": "mu",
        "rent": "18",
        "rent_unit": "month",
        "ceiling_m": "9",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def saved(title: str) -> Property:
    db.session.rollback()
    return db.session.execute(select(Property).where(Property.title == title)).scalar_one()


def fetch(client, path: str):
    """GET a file and close the response (its file handle) at once."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def png_bytes(width: int = 800, height: int = 600) -> bytes:
    out = BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


# --- create and edit with units -------------------------------------------------------------


def test_land_given_in_mu_is_stored_as_land_area_mu(client, auth, manager, park):
    auth.login(manager)
    form = property_form(
        park,
        title="南城工业用地",
        kind="land",
        deals=["sale"],
        area="",
        land_area="30",
        land_area_unit="mu",
        rent="",
        sale_price_wan="2700",
    )
    response = client.post("/app/properties/new", data=form)
    assert response.status_code == 303
    prop = saved("南城工业用地")
    assert prop.land_area_mu == 30
    assert prop.area_sqm is None
    assert response.headers["Location"].endswith(f"/app/properties/{prop.id}")


def test_land_given_in_sqm_is_converted_to_mu(client, auth, manager, park):
    auth.login(manager)
    form = property_form(
        park, title="小地块", kind="land", deals=["sale"], area="", land_area="20000"
    )
    form["land_area_unit"] = "sqm"
    assert client.post("/app/properties/new", data=form).status_code == 303
    assert saved("小地块").land_area_mu == 30


def test_building_area_given_in_mu_is_converted_to_sqm(client, auth, manager, park):
    auth.login(manager)
    form = property_form(park, area="3", area_unit="mu")
    assert client.post("/app/properties/new", data=form).status_code == 303
    assert saved("南城标准厂房B1栋").area_sqm == 2000


def test_rent_per_day_is_stored_per_month(client, auth, manager, park):
    auth.login(manager)
    form = property_form(park, rent="0.8", rent_unit="day")
    assert client.post("/app/properties/new", data=form).status_code == 303
    assert saved("南城标准厂房B1栋").rent_yuan_sqm_month == 24.33


def test_creating_records_the_first_status(client, auth, manager, park):
    auth.login(manager)
    client.post("/app/properties/new", data=property_form(park))
    prop = saved("南城标准厂房B1栋")
    events = db.session.execute(
        select(PropertyEvent).where(PropertyEvent.property_id == prop.id)
    ).scalars()
    assert [(e.from_status, e.to_status) for e in events] == [(None, "available")]


def test_a_factory_without_area_is_refused_with_the_field_marked(client, auth, manager, park):
    auth.login(manager)
    response = client.post("/app/properties/new", data=property_form(park, area=""))
    assert response.status_code == 422
    assert "is-invalid" in response.get_data(as_text=True)
    assert row_count(Property) == 0


def test_no_deal_ticked_is_refused(client, auth, manager, park):
    auth.login(manager)
    form = property_form(park)
    del form["deals"]
    assert client.post("/app/properties/new", data=form).status_code == 422
    assert row_count(Property) == 0


def test_edit_form_shows_canonical_units_and_saves_changes(client, auth, manager, park):
    prop = make_property(park, "A栋", area_sqm=2200.0, rent_yuan_sqm_month=18.0)
    auth.login(manager)
    page = client.get(f"/app/properties/{prop.id}/edit").get_data(as_text=True)
    assert 'value="2200"' in page and 'value="18"' in page
    form = property_form(park, title="A栋", area="2200", rent="0.6", rent_unit="day")
    form["version"] = "1"
    assert client.post(f"/app/properties/{prop.id}/edit", data=form).status_code == 303
    assert saved("A栋").rent_yuan_sqm_month == 18.25


def test_a_status_change_is_recorded_and_shown_on_the_property_page(client, auth, manager, park):
    prop = make_property(park, "A栋")
    auth.login(manager)
    form = property_form(park, title="A栋", status="leased")
    form["version"] = "1"
    client.post(f"/app/properties/{prop.id}/edit", data=form)
    db.session.rollback()
    event = db.session.execute(
        select(PropertyEvent).where(PropertyEvent.property_id == prop.id)
    ).scalar_one()
    assert (event.from_status, event.to_status, event.actor_id) == (
        "available",
        "leased",
        manager.id,
    )
    history = client.get(f"/app/properties/{prop.id}").get_data(as_text=True)
    history = history.split("property-history", 1)[1]
    assert manager.name in history


def test_a_stale_edit_is_refused(client, auth, manager, park):
    prop = make_property(park, "A栋", version=3)
    auth.login(manager)
    form = property_form(park, title="改了标题")
    form["version"] = "2"
    response = client.post(f"/app/properties/{prop.id}/edit", data=form)
    assert response.status_code == 303
    assert saved("A栋").version == 3


# --- who may do what ------------------------------------------------------------------------


def test_agents_see_the_list_and_the_property_page(client, auth, agent, park):
    prop = make_property(park, "A栋", internal_notes="业主急租")
    auth.login(agent)
    assert "A栋" in client.get("/app/properties").get_data(as_text=True)
    page = client.get(f"/app/properties/{prop.id}")
    assert page.status_code == 200
    assert f"/app/properties/{prop.id}/edit" not in page.get_data(as_text=True)


@pytest.mark.parametrize("method", ["get", "post"])
def test_agents_get_403_on_create_and_edit(client, auth, agent, park, method):
    prop = make_property(park, "A栋")
    auth.login(agent)
    send = getattr(client, method)
    data = property_form(park, title="不该有") if method == "post" else None
    assert send("/app/properties/new", data=data).status_code == 403
    assert send(f"/app/properties/{prop.id}/edit", data=data).status_code == 403
    assert send("/app/parks/new", data=data).status_code == 403
    assert saved("A栋").title == "A栋"


def test_agents_cannot_upload_photos(client, auth, agent, park, photo_dir):
    prop = make_property(park, "A栋")
    auth.login(agent)
    data = {"photo": (BytesIO(png_bytes()), "a.png")}
    response = client.post(f"/app/properties/{prop.id}/photos", data=data)
    assert response.status_code == 403
    assert row_count(PropertyPhoto) == 0


def test_logged_out_visitors_are_sent_to_login(client, park):
    response = client.get("/app/properties")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- list, filters, pagination --------------------------------------------------------------


def test_the_list_filters_by_kind_status_park_area_and_price(client, auth, agent, park):
    other = make_park("缙云工业园区", "丽水")
    make_property(park, "大厂房", area_sqm=5000.0, rent_yuan_sqm_month=16.0)
    make_property(park, "小厂房", area_sqm=800.0, rent_yuan_sqm_month=25.0)
    make_property(park, "已租厂房", area_sqm=2000.0, status="leased")
    make_property(other, "缙云仓库", kind="warehouse", area_sqm=3000.0)
    auth.login(agent)

    def titles(query: str) -> set[str]:
        page = client.get("/app/properties?" + query).get_data(as_text=True)
        return {t for t in ("大厂房", "小厂房", "已租厂房", "缙云仓库") if t in page}

    assert titles("kind=warehouse") == {"缙云仓库"}
    assert titles("status=leased") == {"已租厂房"}
    assert titles(f"park_id={other.id}") == {"缙云仓库"}
    assert titles("area_min_sqm=1000&area_max_sqm=4000") == {"已租厂房", "缙云仓库"}
    assert titles("rent_max=20") == {"大厂房"}
    assert titles("kind=nonsense") == {"大厂房", "小厂房", "已租厂房", "缙云仓库"}


def test_the_list_is_paginated(client, auth, agent, park):
    for n in range(30):
        make_property(park, f"厂房{n:02d}号")
    auth.login(agent)
    first = client.get("/app/properties").get_data(as_text=True)
    second = client.get("/app/properties?page=2").get_data(as_text=True)
    assert "厂房29号" in first and "厂房00号" not in first
    assert "厂房00号" in second and "厂房29号" not in second
    assert 'rel="next"' in first and 'rel="prev"' in second


# --- photos ---------------------------------------------------------------------------------


def test_a_png_is_stored_under_a_random_name_with_a_400px_thumbnail(
    client, auth, manager, park, photo_dir
):
    prop = make_property(park, "A栋")
    auth.login(manager)
    data = {"photo": (BytesIO(png_bytes()), "../../etc/厂房.png"), "caption": "外景"}
    response = client.post(f"/app/properties/{prop.id}/photos", data=data)
    assert response.status_code == 303
    photo = db.session.execute(select(PropertyPhoto)).scalar_one()
    assert photo.caption == "外景"
    assert "厂房" not in photo.filename and photo.filename.endswith(".png")
    assert sorted(p.name for p in photo_dir.iterdir()) == sorted([photo.filename, photo.thumbnail])

    thumb = fetch(client, f"/photos/{photo.thumbnail}")
    assert thumb.status_code == 200 and thumb.mimetype == "image/png"
    assert Image.open(BytesIO(thumb.data)).size == (400, 300)
    full = fetch(client, f"/photos/{photo.filename}")
    assert Image.open(BytesIO(full.data)).size == (800, 600)
    assert photo.thumbnail in client.get(f"/app/properties/{prop.id}").get_data(as_text=True)


def test_a_jpeg_keeps_no_exif(client, auth, manager, park, photo_dir):
    prop = make_property(park, "A栋")
    image = Image.new("RGB", (500, 500), (200, 50, 50))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    out = BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    out.seek(0)
    auth.login(manager)
    client.post(f"/app/properties/{prop.id}/photos", data={"photo": (out, "x.jpg")})
    photo = db.session.execute(select(PropertyPhoto)).scalar_one()
    stored = (photo_dir / photo.filename).read_bytes()
    assert b"SecretCam" not in stored
    assert Image.open(BytesIO(stored)).format == "JPEG"


def test_a_text_file_named_jpg_is_refused(client, auth, manager, park, photo_dir):
    prop = make_property(park, "A栋")
    auth.login(manager)
    data = {"photo": (BytesIO(b"<?php echo 'hi'; ?>\n" * 50), "photo.jpg")}
    response = client.post(f"/app/properties/{prop.id}/photos", data=data)
    assert response.status_code == 422
    assert "JPEG" in response.get_data(as_text=True)
    assert row_count(PropertyPhoto) == 0
    assert not photo_dir.exists() or not any(photo_dir.iterdir())


def test_a_gif_is_refused(client, auth, manager, park, photo_dir):
    prop = make_property(park, "A栋")
    out = BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    out.seek(0)
    auth.login(manager)
    response = client.post(f"/app/properties/{prop.id}/photos", data={"photo": (out, "a.png")})
    assert response.status_code == 422
    assert row_count(PropertyPhoto) == 0


def test_a_file_over_8_mb_is_refused(client, auth, manager, park, photo_dir):
    prop = make_property(park, "A栋")
    auth.login(manager)
    big = png_bytes(10, 10) + b"\0" * (8 * 1024 * 1024)
    # Encoded here: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart({"photo": FileStorage(BytesIO(big), "a.png")})
    response = client.post(
        f"/app/properties/{prop.id}/photos",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 422
    assert "8 MB" in response.get_data(as_text=True)
    assert row_count(PropertyPhoto) == 0


def test_an_upload_without_a_file_is_refused(client, auth, manager, park, photo_dir):
    prop = make_property(park, "A栋")
    auth.login(manager)
    assert client.post(f"/app/properties/{prop.id}/photos", data={}).status_code == 422


@pytest.mark.parametrize(
    "name",
    ["..%2F..%2Fsecret_key", "abc.png", "0123456789abcdef0123456789abcdef.gif", "x" * 40],
)
def test_the_photo_route_serves_only_our_own_names(client, photo_dir, name):
    photo_dir.mkdir(parents=True, exist_ok=True)
    (photo_dir / "abc.png").write_bytes(png_bytes(2, 2))
    assert client.get(f"/photos/{name}").status_code == 404


def test_a_photo_can_be_deleted_with_its_files(client, auth, manager, park, photo_dir):
    prop = make_property(park, "A栋")
    auth.login(manager)
    client.post(
        f"/app/properties/{prop.id}/photos", data={"photo": (BytesIO(png_bytes()), "a.png")}
    )
    photo = db.session.execute(select(PropertyPhoto)).scalar_one()
    response = client.post(f"/app/properties/{prop.id}/photos/{photo.id}/delete")
    assert response.status_code == 303
    assert row_count(PropertyPhoto) == 0
    assert list(photo_dir.iterdir()) == []


# --- parks ----------------------------------------------------------------------------------


def test_a_manager_creates_edits_and_archives_a_park(client, auth, manager):
    auth.login(manager)
    form = {
        "name": "青田经济开发区",
        "city": "丽水",
        "district": "青田",
        "focus_industries": ["precision", "fashion"],
        "min_tax_per_mu_wan": "20",
        "description": "",
    }
    assert client.post("/app/parks/new", data=form).status_code == 303
    db.session.rollback()
    park = db.session.execute(select(Park)).scalar_one()
    assert (park.focus_industries, park.min_tax_per_mu_wan) == (["precision", "fashion"], 20)
    assert park.chemical_allowed is False

    client.post(f"/app/parks/{park.id}/edit", data={**form, "chemical_allowed": "y"})
    db.session.rollback()
    assert db.session.get(Park, park.id).chemical_allowed is True

    client.post(f"/app/parks/{park.id}/archive", data={"archived": "1"})
    db.session.rollback()
    assert db.session.get(Park, park.id).archived_at is not None
    assert "archived" in client.get("/app/parks?lang=en").get_data(as_text=True)


def test_a_duplicate_park_name_is_refused(client, auth, manager, park):
    auth.login(manager)
    response = client.post("/app/parks/new", data={"name": park.name, "city": "丽水"})
    assert response.status_code == 422
    assert row_count(Park) == 1


# --- matching leads on the property page ----------------------------------------------------


def own(lead: Lead, user) -> None:
    with write_transaction() as session:
        session.get(Lead, lead.id).owner_id = user.id if user else None


def test_the_property_page_lists_matching_leads_with_score_and_reasons(client, auth, manager, park):
    prop = make_property(park, "A栋", area_sqm=2200.0, ceiling_m=9.0)
    lead = make_inquiry(company="丽水芯联半导体有限公司").lead
    auth.login(manager)
    page = client.get(f"/app/properties/{prop.id}?lang=en").get_data(as_text=True)
    matches = page.split("property-matches", 1)[1]
    assert lead.company in matches
    assert 'data-criterion="area"' in matches and "reason-pass" in matches
    assert "Area 2,200㎡ fits the requirement" in matches
    assert "score-badge" in matches


def test_an_agent_sees_only_the_matching_leads_they_may_see(client, auth, agent, other_agent, park):
    prop = make_property(park, "A栋", area_sqm=2000.0)
    mine = make_inquiry(company="我的客户有限公司", phone="13391219793").lead
    theirs = make_inquiry(company="别人的客户有限公司", phone="13905781234").lead
    own(mine, agent)
    own(theirs, other_agent)
    auth.login(agent)
    page = client.get(f"/app/properties/{prop.id}").get_data(as_text=True)
    assert "我的客户有限公司" in page
    assert "别人的客户有限公司" not in page
