"""People who work in the centre: accounts, passwords, sessions, their API tokens."""
