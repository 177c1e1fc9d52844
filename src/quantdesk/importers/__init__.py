"""Importers: turn exported files into ledger entries, reporting every bad row."""
