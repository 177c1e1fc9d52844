"""The ``quantdesk`` command line (Typer + Rich)."""
