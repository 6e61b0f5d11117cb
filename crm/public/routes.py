"""Public pages for prospects: the landing page (listings arrive with the catalogue)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

bp = Blueprint("public", __name__)


@bp.get("/favicon.ico")
def favicon():  # noqa: ANN201
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/")
def index():
    return render_template("public/index.html")
