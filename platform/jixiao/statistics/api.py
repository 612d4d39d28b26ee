"""Statistics API (being written)."""

from flask_smorest import Blueprint

blp = Blueprint("statistics_api", __name__, description="Yearly statistics per tenant")
