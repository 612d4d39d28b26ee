"""spreadsheets pages (being written)."""

from flask import Blueprint

bp = Blueprint("spreadsheets", __name__, template_folder="templates")
