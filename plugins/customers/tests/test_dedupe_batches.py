"""A batch's look-alikes and keys as the plain (slower) definitions give them, over many random batches."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pytest

from kernel import BATCH_ROW
from plugins.customers import dedupe
from plugins.customers.normalize import email_key, email_keys, phone_key, phone_keys

PHONES = ["13800138000", "+86 138-0013-8000", "138 0013 8001", "010-6552-1234", "+852 2345 6789", "12345", "--", "", None, "１３８００１３８０００"]
EMAILS = ["bob@example.com", " Bob@Example.COM ", "ann@example.cn", "", None, "ＡＮＮ@example.cn"]
NAMES = ["ACME 有限公司", "ACME有限责任公司", "Costco", "华为技术有限公司", "", None, "acme ltd"]


def _plain_keys(keys: list[str | None]) -> list[str]:
    return list(dict.fromkeys(k for k in keys if k))


def test_phone_and_email_keys_are_each_values_distinct_keys_in_order():
    rng = random.Random(4)
    for _ in range(2_000):
        phones = [rng.choice(PHONES) for _ in range(rng.randrange(0, 5))]
        emails = [rng.choice(EMAILS) for _ in range(rng.randrange(0, 5))]
        assert phone_keys(phones) == _plain_keys([phone_key(p) for p in phones])
        assert phone_keys(phones, "US") == _plain_keys([phone_key(p, "US") for p in phones])
        assert email_keys(emails) == _plain_keys([email_key(e) for e in emails])


def _plain_lookalikes(entity: str, rows: list[dict[str, Any]], stored: dict[Any, list[int]]) -> list[list[tuple[str, int]]]:
    """:func:`dedupe.lookalikes` as it was first written."""
    keys = [dedupe.row_keys(entity, row) for row in rows]
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    answer = []
    for index, (row, row_keys_) in enumerate(zip(rows, keys)):
        ids = sorted({id_ for key in row_keys_ for id_ in stored.get(key, ())} - {row.get("id")})
        earlier = sorted({i for key in row_keys_ for i in seen[key]})
        answer.append([(entity, id_) for id_ in ids[: dedupe.MAX_MATCHES]] + [(BATCH_ROW, i) for i in earlier])
        for key in row_keys_:
            seen[key].append(index)
    return answer


@pytest.mark.parametrize("entity", ["customers", "contacts"])
def test_a_batchs_lookalikes_are_the_plain_definitions(entity, monkeypatch):
    rng = random.Random(entity)
    for _ in range(300):
        rows = []
        for _ in range(rng.randrange(0, 12)):
            row: dict[str, Any] = {"name": rng.choice(NAMES), "phone": rng.choice(PHONES), "email": rng.choice(EMAILS)}
            if rng.random() < 0.3:
                row["phones"] = [rng.choice(PHONES) for _ in range(rng.randrange(0, 3))]
            if rng.random() < 0.3:
                row["emails"] = [rng.choice(EMAILS) for _ in range(rng.randrange(0, 3))]
            if rng.random() < 0.2:
                row["kind"] = rng.choice(["company", "individual"])
            if rng.random() < 0.2:
                row["id"] = rng.randrange(1, 30)
            rows.append(row)
        every_key = sorted(set().union(*(dedupe.row_keys(entity, row) for row in rows)) if rows else set())
        stored = {key: sorted(rng.sample(range(1, 30), rng.randrange(1, 25))) for key in every_key if rng.random() < 0.5}
        monkeypatch.setattr(dedupe, "_stored_by_key", lambda conn, table, keys, stored=stored: stored)
        monkeypatch.setattr(dedupe, "phone_region", lambda site: "CN")
        assert dedupe.lookalikes(None, None, entity, rows) == _plain_lookalikes(entity, rows, stored), rows
