"""Several Asterisk nodes behind Kamailio's dispatcher, one database (docs/cluster.md)."""
