"""The command centre's figures: an event log, KPIs with written definitions, CSV export,
Asterisk queue_log output and Erlang C staffing advice. Pure: no I/O, no clock, no database."""
