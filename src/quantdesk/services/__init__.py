"""Use cases: import a file, list positions, lots and gains, manage accounts."""
