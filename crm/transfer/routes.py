"""Lead import (.xlsx/.csv with preview and mapping) and export (streamed CSV/.xlsx)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("transfer", __name__)
