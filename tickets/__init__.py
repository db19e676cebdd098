"""Ticket store: models, migrations, repository, call-record intake."""
