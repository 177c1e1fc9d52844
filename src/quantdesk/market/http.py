"""One way every HTTP provider calls upstream: retries, backoff, Retry-After, counting.

Retry policy (per call, ``attempts`` tries in all):

* timeouts, connection errors and HTTP 5xx are retried with exponential backoff and full
  jitter: the n-th wait is uniform in ``[0, min(max_backoff, backoff * 2**n)]``;
* HTTP 429 is retried after the ``Retry-After`` the provider sent (seconds or an HTTP
  date), else after the backoff; a ``Retry-After`` longer than ``max_retry_after`` is not
  waited out here: :class:`RateLimited` carries it to the cache, which rests the provider;
* other 4xx and undecodable bodies are not retried (asking again gives the same answer).

Every HTTP attempt is one upstream call, counted in the Prometheus counter
``quantdesk_upstream_calls_total{provider, outcome}``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from prometheus_client import Counter

from quantdesk.domain.errors import ProviderUnavailable, RateLimited

UPSTREAM_CALLS = Counter(
    "quantdesk_upstream_calls",
    "HTTP calls made to market-data providers, by provider and outcome.",
    ["provider", "outcome"],
)

USER_AGENT = "quantdesk/0.1 (+self-hosted investment dashboard)"


def upstream_calls(provider: str, outcome: str | None = None) -> float:
    """How many calls this process made to ``provider`` (with ``outcome``, or all)."""
    total = 0.0
    for metric in UPSTREAM_CALLS.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            if sample.labels["provider"] != provider:
                continue
            if outcome is None or sample.labels["outcome"] == outcome:
                total += sample.value
    return total


@dataclass(frozen=True, slots=True)
class Answer:
    """A decoded upstream answer: HTTP status and JSON body (or text for non-JSON).

    JSON numbers with a fraction are decoded as ``Decimal`` from their printed text, so a
    price is exactly what the provider wrote (no binary float on the way).
    """

    status: int
    body: Any
    headers: Mapping[str, str]


def _no_constants(name: str) -> Any:
    """JSON's NaN and Infinity are not prices: such a body is malformed."""
    raise ValueError(f"{name} in a provider answer")


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class HttpSource:
    """An upstream HTTP API at a configurable base URL, called with the retry policy."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_after: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(
            timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True
        )
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.jitter = jitter

    def close(self) -> None:
        self.client.close()

    def _count(self, outcome: str) -> None:
        UPSTREAM_CALLS.labels(self.provider, outcome).inc()

    def _wait(self, attempt: int) -> None:
        self.sleep(self.jitter() * min(self.max_backoff, self.backoff * 2**attempt))

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        ok_statuses: tuple[int, ...] = (200,),
        as_json: bool = True,
    ) -> Answer:
        """GET ``base_url + path``; returns statuses in ``ok_statuses`` (so a provider can
        read its own 404 payload), raises :class:`ProviderUnavailable` for the rest."""
        url = f"{self.base_url}{path}"
        failure: ProviderUnavailable | None = None
        for attempt in range(self.attempts):
            if attempt:
                if isinstance(failure, RateLimited) and failure.retry_after is not None:
                    self.sleep(failure.retry_after)
                else:
                    self._wait(attempt - 1)
            try:
                response = self.client.get(url, params=params)
            except httpx.TimeoutException:
                self._count("timeout")
                failure = ProviderUnavailable("timed out", provider=self.provider)
                continue
            except httpx.TransportError as error:
                self._count("connection_error")
                failure = ProviderUnavailable(
                    f"cannot connect ({type(error).__name__})", provider=self.provider
                )
                continue
            except httpx.RequestError as error:  # undecodable body, too many redirects
                self._count("malformed")
                raise ProviderUnavailable(
                    f"unusable answer ({type(error).__name__})", provider=self.provider
                ) from None
            status = response.status_code
            if status == 429:
                self._count("rate_limited")
                wait = retry_after_seconds(
                    response.headers.get("Retry-After"), now=datetime.now(UTC)
                )
                failure = RateLimited(
                    "rate limited (HTTP 429)"
                    + (f", retry after {wait:.0f} s" if wait is not None else ""),
                    provider=self.provider,
                    retry_after=wait,
                )
                if wait is not None and wait > self.max_retry_after:
                    raise failure
                continue
            if status >= 500:
                self._count("server_error")
                failure = ProviderUnavailable(f"HTTP {status}", provider=self.provider)
                continue
            if status not in ok_statuses:
                self._count("client_error")
                raise ProviderUnavailable(f"HTTP {status} for {path}", provider=self.provider)
            if not as_json:
                self._count("ok")
                return Answer(status, response.text, response.headers)
            try:
                body = json.loads(
                    response.content, parse_float=Decimal, parse_constant=_no_constants
                )
            except ValueError:
                self._count("malformed")
                raise ProviderUnavailable(
                    f"answered HTTP {status} with a body that is not JSON", provider=self.provider
                ) from None
            self._count("ok")
            return Answer(status, body, response.headers)
        assert failure is not None
        raise failure


def source_for(
    provider: str,
    base_url: str,
    default_base_url: str,
    source: HttpSource | None,
    http_options: Mapping[str, Any],
) -> HttpSource:
    """The HttpSource an adapter calls through: ``source`` if given (then HTTP options are
    refused, and a ``base_url`` other than the default must be the source's), else one
    built from ``base_url`` and ``http_options``."""
    if source is None:
        return HttpSource(provider, base_url, **http_options)
    if http_options:
        raise TypeError(f"pass HTTP options to the HttpSource, not here: {sorted(http_options)}")
    if base_url != default_base_url and base_url.rstrip("/") != source.base_url:
        raise ValueError(f"base_url {base_url!r} differs from the source's {source.base_url!r}")
    return source
