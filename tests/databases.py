"""The two databases as fixture params. Each carries a marker of its name, so that
scripts/test.sh can run the PostgreSQL tests (`-m postgres`) and all the others
(`-m "not postgres"`) side by side: one Asterisk instance and one engine per run, and only
one run on the PostgreSQL databases."""
import pytest

DATABASES = [pytest.param(db, marks=getattr(pytest.mark, db)) for db in ("sqlite", "postgres")]
