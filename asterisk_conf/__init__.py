"""Asterisk configuration templates; rendered by hotline.asterisk.render."""
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
