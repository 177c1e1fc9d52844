"""The in-process named locks: exclusive per name, and kept only while in use."""

from __future__ import annotations

import threading

import pytest

from quantdesk.market.cache import LocalLocks, LockTimeout


def test_a_held_name_makes_others_wait_and_a_free_one_does_not() -> None:
    locks = LocalLocks()
    with locks.hold("history:SPY", 1):
        with pytest.raises(LockTimeout), locks.hold("history:SPY", 0.05):
            pass
        with locks.hold(("closes", 7), 0.05):  # another name: free
            assert 2 == len(locks)
    with locks.hold("history:SPY", 0.05):  # released: free again
        pass


def test_names_no_one_holds_or_waits_for_are_not_kept() -> None:
    """The closes cache takes a new name for every price version: a long-running worker
    must not keep a lock for each one it ever read."""
    locks = LocalLocks()
    for revision in range(1000):
        with locks.hold(("closes", revision), 1):
            pass
    assert 0 == len(locks)
    held, waiting = threading.Event(), threading.Event()
    release = threading.Event()

    def holder() -> None:
        with locks.hold("shared", 1):
            held.set()
            release.wait(5)

    def waiter() -> None:
        waiting.set()
        with locks.hold("shared", 5):
            pass

    threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    threads[0].start()
    assert held.wait(5)
    threads[1].start()
    assert waiting.wait(5)
    assert 1 == len(locks)  # one name, held and waited for
    release.set()
    for thread in threads:
        thread.join(5)
    assert 0 == len(locks)
