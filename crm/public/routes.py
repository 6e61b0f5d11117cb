"""Public pages for prospects: the landing page (listings arrive with the catalogue)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    return render_template("public/index.html")
