"""Clients of outside services a user connects: crypto exchanges through ccxt."""
