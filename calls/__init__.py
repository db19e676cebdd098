"""Call records: parsed from Asterisk's per-call journal and folded by a pure function."""
