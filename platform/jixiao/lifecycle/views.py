"""Lifecycle pages (being written)."""

from flask import Blueprint

bp = Blueprint("lifecycle", __name__, template_folder="templates")
