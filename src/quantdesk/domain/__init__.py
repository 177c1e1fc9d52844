"""Pure domain: instruments, accounts, transactions, lots and positions.

Nothing here does I/O or reads the clock: callers pass ``as_of`` in. Money and
quantities are :class:`decimal.Decimal` throughout.
"""
