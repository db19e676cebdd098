"""hotline: the telephony engine of a city's 12345 public-service hotline."""
