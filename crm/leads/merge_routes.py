"""Possible duplicate leads and the manager's merge of two leads."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("merge", __name__)
