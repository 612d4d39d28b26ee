"""Statistics pages (being written)."""

from flask import Blueprint

bp = Blueprint("statistics", __name__, template_folder="templates")
