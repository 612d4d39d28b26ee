"""Lifecycle API (being written)."""

from flask_smorest import Blueprint

blp = Blueprint("lifecycle_api", __name__, description="Projects and their lifecycle")
