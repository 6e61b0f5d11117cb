"""Public pages for prospects: landing page, catalogue, a listing, a shared shortlist, photos."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, send_file

from crm.properties.photos import stored_photo_path
from crm.properties.shortlist import shared_properties
from crm.public import listings

bp = Blueprint("public", __name__)
PHOTO_MAX_AGE = 365 * 24 * 3600  # names are random and never reused: cache for good


@bp.context_processor
def _catalogue_helpers() -> dict:
    return {
        "describe": listings.describe,
        "AREA_BAND_LABELS": listings.AREA_BAND_LABELS,
    }


@bp.get("/")
def index():
    return render_template("public/index.html", latest=listings.latest_public_listings())


@bp.get("/listings", endpoint="listings")
def catalogue():
    flt = listings.PropertyFilter.from_args(request.args)
    return render_template(
        "public/listings.html",
        page=listings.public_listings(flt),
        flt=flt,
        places=listings.public_places(),
    )


@bp.get("/listings/<int:property_id>")
def listing(property_id: int):
    return render_template("public/listing.html", prop=listings.public_property_or_404(property_id))


@bp.get("/s/<token>")
def shared(token: str):
    if len(token) > 100:
        abort(404)
    link, props = shared_properties(token)
    response = render_template("public/shared.html", link=link, props=props)
    return response, 200, {"X-Robots-Tag": "noindex, nofollow", "Cache-Control": "no-store"}


@bp.get("/photos/<name>")
def photo(name: str):
    path = stored_photo_path(name)
    if path is None:
        abort(404)
    return send_file(path, max_age=PHOTO_MAX_AGE)
