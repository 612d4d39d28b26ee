"""documents API (being written)."""

from flask_smorest import Blueprint

blp = Blueprint("documents_api", __name__, description="documents")
