"""Staff pages for parks and properties: list, create, edit, archive, photos, matching leads."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.auth.access import manager_required
from crm.exceptions import ValidationFailed, VersionConflict
from crm.form_helpers import choices
from crm.matching.service import matches_for_property
from crm.models import Park, Property
from crm.properties import photos, queries, service
from crm.properties.forms import ParkForm, PhotoForm, PropertyForm
from crm.properties.schemas import ParkIn, PropertyIn, PropertyPatch
from crm.units import mu_to_sqm, rent_per_day_to_month, round2, sqm_to_mu
from crm.validation import parse_input
from crm.vocabulary import INDUSTRIES, PROPERTY_DEALS, PROPERTY_STATUSES

bp = Blueprint("properties", __name__)
MATCH_LIMIT = 20
MATCH_POOL = 200  # an agent sees only some leads: rank more, then keep the visible ones


@bp.context_processor
def _vocabulary() -> dict:
    return {
        "PROPERTY_DEALS": PROPERTY_DEALS,
        "PROPERTY_STATUSES": PROPERTY_STATUSES,
        "INDUSTRIES": INDUSTRIES,
    }


# --- properties ---------------------------------------------------------------------------


@bp.get("/properties")
@login_required
def index():
    flt = queries.PropertyFilter.from_args(request.args)
    return render_template(
        "properties/index.html",
        page=queries.staff_listings(flt),
        flt=flt,
        parks=queries.parks(include_archived=True),
    )


@bp.route("/properties/new", methods=["GET", "POST"])
@manager_required
def create():
    form = _property_form(None)
    if request.method == "GET":
        return _render_form(form, None)
    if not form.validate():
        return _render_form(form, None, 422)
    try:
        data = parse_input(PropertyIn, _property_payload(form))
        prop = service.create_property(current_user, data)
    except ValidationFailed as exc:
        _attach_errors(form, exc.fields)
        return _render_form(form, None, 422)
    flash(_("Property “%(title)s” added.", title=prop.title), "success")
    return redirect(url_for("properties.show", property_id=prop.id), 303)


@bp.route("/properties/<int:property_id>/edit", methods=["GET", "POST"])
@manager_required
def edit(property_id: int):
    prop = service.get_property_or_404(property_id)
    if request.method == "GET":
        return _render_form(_property_form(prop, data=_form_data(prop)), prop)
    form = _property_form(prop)
    if not form.validate():
        return _render_form(form, prop, 422)
    version = str(form.version.data or "")
    known = int(version) if version.isdecimal() and len(version) <= 9 else None
    try:
        patch = parse_input(PropertyPatch, {**_property_payload(form), "version": known})
        service.update_property(current_user, prop, patch)
    except VersionConflict as exc:
        flash(exc.message, "warning")
        return redirect(url_for("properties.edit", property_id=prop.id), 303)
    except ValidationFailed as exc:
        _attach_errors(form, exc.fields)
        return _render_form(form, prop, 422)
    flash(_("Property saved."), "success")
    return redirect(url_for("properties.show", property_id=prop.id), 303)


@bp.get("/properties/<int:property_id>")
@login_required
def show(property_id: int):
    prop = service.get_property_or_404(property_id)
    return _render_property(prop, PhotoForm())


def _render_property(prop: Property, photo_form: PhotoForm, status: int = 200):
    matches = matches_for_property(prop, limit=MATCH_POOL)
    leads = queries.visible_leads_by_id(current_user, [m.lead_id for m in matches])
    rows = [(m, leads[m.lead_id]) for m in matches if m.lead_id in leads][:MATCH_LIMIT]
    return (
        render_template(
            "properties/show.html",
            prop=prop,
            matches=rows,
            history=queries.status_history(prop),
            photo_form=photo_form,
            public_url=url_for("public.listing", property_id=prop.id)
            if prop.status == "available"
            else None,
        ),
        status,
    )


@bp.post("/properties/<int:property_id>/photos")
@manager_required
def upload_photo(property_id: int):
    prop = service.get_property_or_404(property_id)
    form = PhotoForm()
    if not form.validate():
        abort(400)
    upload = form.photo.data
    try:
        photos.add_photo(
            current_user, prop, upload.stream if upload else _EmptyStream(), form.caption.data
        )
    except ValidationFailed as exc:
        form.photo.errors = [*form.photo.errors, *exc.fields.get("photo", [exc.message])]
        return _render_property(prop, form, 422)
    flash(_("Photo added."), "success")
    return redirect(url_for("properties.show", property_id=prop.id), 303)


@bp.post("/properties/<int:property_id>/photos/<int:photo_id>/delete")
@manager_required
def delete_photo(property_id: int, photo_id: int):
    prop = service.get_property_or_404(property_id)
    photos.delete_photo(current_user, prop, photo_id)
    flash(_("Photo removed."), "success")
    return redirect(url_for("properties.show", property_id=prop.id), 303)


class _EmptyStream:
    """Stands in for a missing upload, so the service answers with its own message."""

    def read(self, _size: int = -1) -> bytes:
        return b""


def _property_form(prop: Property | None, **kwargs) -> PropertyForm:
    form = PropertyForm(**kwargs)
    live = queries.parks()
    if prop is not None and prop.park not in live:
        live = [prop.park, *live]
    form.park_id.choices = choices(
        [("", _("— choose —"))] + [(p.id, f"{p.name}（{p.city}）") for p in live]
    )
    statuses = [s for s in PROPERTY_STATUSES if s != "reserved"]
    if prop is not None and prop.status == "reserved":
        statuses.insert(1, "reserved")
    form.status.choices = choices((s, PROPERTY_STATUSES[s]) for s in statuses)
    return form


def _render_form(form: PropertyForm, prop: Property | None, status: int = 200):
    return render_template("properties/form.html", form=form, prop=prop), status


def _shown(value: float | None) -> int | float | None:
    """A stored figure as the form shows it: 2200.0 → 2200."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _form_data(prop: Property) -> dict:
    data = {name: getattr(prop, name) for name in PropertyForm.PLAIN_FIELDS}
    for name in ("ceiling_m", "floor_load_t", "power_kva", "sale_price_wan", "min_annual_tax_wan"):
        data[name] = _shown(data[name])
    return {
        **data,
        "park_id": str(prop.park_id),
        "area": _shown(prop.area_sqm),
        "area_unit": "sqm",
        "land_area": _shown(prop.land_area_mu),
        "land_area_unit": "mu",
        "rent": _shown(prop.rent_yuan_sqm_month),
        "rent_unit": "month",
        "version": str(prop.version),
    }


def _plain(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else value


def _property_payload(form: PropertyForm) -> dict:
    """The form in the schema's canonical units: ㎡, 亩 and 元/㎡/月."""
    payload = {name: _plain(getattr(form, name).data) for name in PropertyForm.PLAIN_FIELDS}
    park = str(form.park_id.data or "")
    if park.isdecimal():
        payload["park_id"] = int(park)
    area, land, rent = (_plain(f.data) for f in (form.area, form.land_area, form.rent))
    if area is not None and form.area_unit.data == "mu":
        area = mu_to_sqm(area)
    if land is not None and form.land_area_unit.data == "sqm":
        land = sqm_to_mu(land)
    if rent is not None and form.rent_unit.data == "day":
        rent = rent_per_day_to_month(rent)
    payload["area_sqm"] = None if area is None else round2(area)
    payload["land_area_mu"] = None if land is None else round2(land)
    payload["rent_yuan_sqm_month"] = None if rent is None else round2(rent)
    return payload


def _attach_errors(form, fields: dict[str, list[str]]) -> None:
    names = getattr(form, "ERROR_FIELDS", {})
    for name, messages in fields.items():
        base = name.split(".", 1)[0]
        if base == "deals":
            messages = [_("Tick rent, sale or both.")]
        target = getattr(form, names.get(base, base), None)
        if target is None:
            flash("; ".join(messages), "danger")
            continue
        target.errors = [*target.errors, *messages]


# --- parks --------------------------------------------------------------------------------


@bp.get("/parks")
@login_required
def parks():
    return render_template(
        "parks/index.html",
        parks=queries.parks(include_archived=True),
        counts=queries.property_counts_by_park(),
    )


@bp.route("/parks/new", methods=["GET", "POST"])
@manager_required
def create_park():
    form = ParkForm()
    if request.method == "POST":
        park = _save_park(form, None)
        if park is not None:
            flash(_("Park “%(name)s” added.", name=park.name), "success")
            return redirect(url_for("properties.parks"), 303)
        return render_template("parks/form.html", form=form, park=None), 422
    return render_template("parks/form.html", form=form, park=None)


@bp.route("/parks/<int:park_id>/edit", methods=["GET", "POST"])
@manager_required
def edit_park(park_id: int):
    park = service.get_park_or_404(park_id)
    if request.method == "POST":
        form = ParkForm()
        if _save_park(form, park) is not None:
            flash(_("Park saved."), "success")
            return redirect(url_for("properties.parks"), 303)
        return render_template("parks/form.html", form=form, park=park), 422
    data = {name: getattr(park, name) for name in ParkForm.FIELDS}
    data["min_tax_per_mu_wan"] = _shown(park.min_tax_per_mu_wan)
    return render_template("parks/form.html", form=ParkForm(data=data), park=park)


@bp.post("/parks/<int:park_id>/archive")
@manager_required
def archive_park(park_id: int):
    park = service.get_park_or_404(park_id)
    archived = request.form.get("archived") == "1"
    service.set_park_archived(current_user, park, archived)
    if archived:
        flash(_("Park “%(name)s” archived.", name=park.name), "success")
    else:
        flash(_("Park “%(name)s” restored.", name=park.name), "success")
    return redirect(url_for("properties.parks"), 303)


def _save_park(form: ParkForm, park: Park | None) -> Park | None:
    """Create or update from the form; None (with errors on the form) when refused."""
    if not form.validate():
        return None
    payload = {name: _plain(getattr(form, name).data) for name in ParkForm.FIELDS}
    try:
        data = parse_input(ParkIn, payload)
        if park is None:
            return service.create_park(current_user, data)
        return service.update_park(current_user, park, data)
    except ValidationFailed as exc:
        _attach_errors(form, exc.fields)
        return None
