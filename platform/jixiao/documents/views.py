"""documents pages (being written)."""

from flask import Blueprint

bp = Blueprint("documents", __name__, template_folder="templates")
