"""Interactive Brokers: the Activity Statement and Transaction History CSVs
(:mod:`ibkr_statement`), and Flex Queries as CSV or XML (:mod:`ibkr_flex`)."""

from __future__ import annotations

from quantdesk.importers import ibkr_flex, ibkr_statement
from quantdesk.importers.format import Format

FORMATS: tuple[Format, ...] = (*ibkr_statement.FORMATS, *ibkr_flex.FORMATS)
