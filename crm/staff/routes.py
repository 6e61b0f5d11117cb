"""Staff home under /app."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("staff", __name__)


@bp.get("/")
@login_required
def home():
    return render_template("staff/home.html")
