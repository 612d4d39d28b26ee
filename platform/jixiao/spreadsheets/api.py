"""spreadsheets API (being written)."""

from flask_smorest import Blueprint

blp = Blueprint("spreadsheets_api", __name__, description="spreadsheets")
