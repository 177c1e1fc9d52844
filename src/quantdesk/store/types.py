"""Column types that keep money exact and times in UTC on every supported engine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Dialect, Numeric, String
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator, TypeEngine

from quantdesk.domain.money import normalized

#: 20 integer digits and 18 decimals: wei-level crypto quantities, never rounded to cents.
NUMERIC_PRECISION, NUMERIC_SCALE = 38, 18


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(38, 18) on PostgreSQL and MySQL/MariaDB; exact text on SQLite.

    SQLite has no decimal type and SQLAlchemy's Numeric would pass values through
    float there, so SQLite stores the canonical decimal string instead.
    """

    impl = Numeric(NUMERIC_PRECISION, NUMERIC_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(NUMERIC_PRECISION, NUMERIC_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal takes Decimal, got {type(value).__name__}")
        if dialect.name == "sqlite":
            return format(value, "f")  # exact, never in exponent notation
        return value

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":  # the hot path of every import: one closure a value

            def process(value: Decimal | None) -> str | None:
                if value is None:
                    return None
                if not isinstance(value, Decimal):
                    raise TypeError(f"ExactDecimal takes Decimal, got {type(value).__name__}")
                return format(value, "f")  # exact, never in exponent notation

            return process
        return super().bind_processor(dialect)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(value)  # stored in canonical form by process_bind_param
        return normalized(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":  # the hot path of every ledger load: Decimal from text

            def process(value: str | None) -> Decimal | None:
                return None if value is None else Decimal(value)

            return process
        if self.load_dialect_impl(dialect).result_processor(dialect, coltype) is None:
            # the driver hands Decimals already: only normalized, one call a value

            def normalize(value: Decimal | None) -> Decimal | None:
                return None if value is None else normalized(value)

            return normalize
        return super().result_processor(dialect, coltype)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (stored naive UTC, microseconds kept).

    On SQLite the value is fixed-width text ``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts
    as time does and is written and read by C code (SQLAlchemy's own SQLite DATETIME
    formats in Python, a cost paid on every row of a large import).
    """

    impl = DateTime()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime takes aware datetimes")
        naive = value.astimezone(UTC).replace(tzinfo=None)
        if dialect.name == "sqlite":
            return naive.isoformat(" ", "microseconds")
        return naive

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":  # the hot path of every import: one closure a value

            def process(value: datetime | None) -> str | None:
                if value is None:
                    return None
                if value.tzinfo is None:
                    raise ValueError("UTCDateTime takes aware datetimes")
                if value.tzinfo is not UTC:
                    value = value.astimezone(UTC)
                return value.replace(tzinfo=None).isoformat(" ", "microseconds")

            return process
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":  # the hot path of every ledger load: C parsing of text
            parse = datetime.fromisoformat

            def process(value: str | None) -> datetime | None:
                return None if value is None else parse(value).replace(tzinfo=UTC)

            return process
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(moment, datetime)
        return moment.replace(tzinfo=UTC)


class CalendarDate(TypeDecorator[date]):
    """A date; on SQLite ISO text written and read by C code (SQLAlchemy's own SQLite DATE
    formats and parses in Python, a cost paid on every row of a large import or load)."""

    impl = Date()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(10))
        return dialect.type_descriptor(Date())

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":

            def process(value: date | None) -> str | None:
                return None if value is None else value.isoformat()

            return process
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":
            parse = date.fromisoformat

            def process(value: str | None) -> date | None:
                return None if value is None else parse(value)

            return process
        return super().result_processor(dialect, coltype)

    def process_bind_param(self, value: date | None, dialect: Dialect) -> Any:
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        assert value is None or isinstance(value, date)
        return value
