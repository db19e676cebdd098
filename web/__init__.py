"""HTTP edge: aiohttp app factory, auth, error translation, routes."""
