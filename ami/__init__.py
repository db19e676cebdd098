"""The AMI edge: one owner of the connection (session.py) over a small protocol core."""
