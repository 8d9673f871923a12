"""(being written)"""
from flask import Blueprint

bp = Blueprint("processes", __name__)
