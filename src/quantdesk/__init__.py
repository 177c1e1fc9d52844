"""quantdesk: one ledger for every account and asset, with institutional analytics."""

__version__ = "0.1.0"
