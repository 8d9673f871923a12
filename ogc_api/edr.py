"""OGC API EDR for rainfall (being written)."""
from flask import Blueprint

bp = Blueprint("edr", __name__)
