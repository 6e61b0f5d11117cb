"""Staff home under /app: the user's day."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from crm.staff.my_day import my_day

bp = Blueprint("staff", __name__)


@bp.get("/")
@login_required
def home():
    return render_template("staff/home.html", day=my_day(current_user))
