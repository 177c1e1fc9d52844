"""A small thread-safe least-recently-used map: the process caches of the services
(closes, ledgers, what-if engines) are each one of these with their own key."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Lru(Generic[V]):
    """At most ``size`` values, and with ``weight``, at most ``budget`` of their weights
    in all (a value heavier than the whole budget is not kept); the least recently used
    goes first."""

    def __init__(
        self,
        size: int,
        *,
        weight: Callable[[V], int] | None = None,
        budget: int | None = None,
    ) -> None:
        self.size = size
        self.weight = weight
        self.budget = budget
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._held = 0  # the weights of the values held
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        weigh = self.weight or (lambda _: 0)
        budget = self.budget if self.budget is not None else float("inf")
        if weigh(value) > budget:
            return
        with self._lock:
            replaced = self._items.pop(key, None)
            self._held += weigh(value) - (0 if replaced is None else weigh(replaced))
            self._items[key] = value
            while len(self._items) > self.size or self._held > budget:
                self._held -= weigh(self._items.popitem(last=False)[1])

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        """The value of ``key``, loaded (outside the lock) when absent."""
        found = self.get(key)
        if found is None:
            found = load()
            self.put(key, found)
        return found
