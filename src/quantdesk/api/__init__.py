"""The REST API (FastAPI): parses, authenticates, calls one service, renders."""
