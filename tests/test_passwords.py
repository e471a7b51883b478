"""Password checks: argon2id, and no timing hint about which emails have accounts."""

from __future__ import annotations

from kernel.passwords import cheap_hasher, verify


class CountingHasher:
    """A cheap argon2 hasher that counts how many hashes it checked."""

    def __init__(self) -> None:
        self.inner = cheap_hasher()
        self.time_cost, self.memory_cost, self.parallelism = 1, 8, 1
        self.checked = 0

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        self.checked += 1
        return self.inner.verify(stored, password)


def test_right_and_wrong_passwords():
    hasher = cheap_hasher()
    stored = hasher.hash("correct horse")
    assert verify(hasher, stored, "correct horse") is True
    assert verify(hasher, stored, "wrong horse") is False
    assert verify(hasher, "not a hash", "correct horse") is False


def test_a_missing_hash_still_costs_one_check():
    hasher = CountingHasher()
    assert verify(hasher, None, "anything") is False  # type: ignore[arg-type]
    assert verify(hasher, "", "anything") is False  # type: ignore[arg-type]
    assert hasher.checked == 2
