"""Scenario: how to store a built-in amount column on SQLite (no decimal type there).

```
python -m bench.money_sqlite                  # 100,000 amounts, 5 runs
python -m bench.money_sqlite --rows 20000
```

Writes ``--rows`` random amounts (two decimals, most below a billion, ten with 17
digits) three ways into one temporary SQLite file: ``sa.Numeric(18, 2)``
(a REAL on SQLite), ``TEXT`` holding the decimal string, and :class:`kernel.Money`
(whole minor units in an INTEGER). For each it prints how many values come back
exactly, whether ``SUM`` equals the Decimal total, whether ``ORDER BY`` sorts by
amount, and the median seconds of ``SUM`` and of the top 50 by amount, as ratios
to ``Money`` (above 1.0: slower than ``Money``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kernel import Money


def timed(conn: sa.Connection, statement: Any, runs: int) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = conn.execute(statement).all()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(11)
    amounts = [Decimal(rng.randrange(10 ** rng.choice((3, 5, 7, 11)) - 1)).scaleb(-2) for _ in range(args.rows)]
    for i in rng.sample(range(args.rows), 10):  # a few amounts past a float's 15-16 significant digits
        amounts[i] = Decimal(rng.randrange(10**16, 10**17)).scaleb(-2)
    total = sum(amounts)
    top = sorted(amounts, reverse=True)[:50]
    warnings.simplefilter("ignore", sa.exc.SAWarning)  # SQLAlchemy's warning that SQLite has no Decimal: the point
    kinds = {"numeric_real": sa.Numeric(18, 2), "text": sa.Text(), "money": Money()}
    with tempfile.TemporaryDirectory() as folder:
        engine = sa.create_engine(f"sqlite:///{Path(folder) / 'money.db'}")
        metadata = sa.MetaData()
        tables = {k: sa.Table(f"t_{k}", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("amount", t)) for k, t in kinds.items()}
        metadata.create_all(engine)
        results: dict[str, dict[str, Any]] = {}
        with engine.begin() as conn:
            for kind, table in tables.items():
                conn.execute(sa.insert(table), [{"amount": str(a) if kind == "text" else a} for a in amounts])
        with engine.connect() as conn:
            for kind, table in tables.items():
                back = conn.execute(sa.select(table.c.amount).order_by(table.c.id)).scalars().all()
                exact = sum(Decimal(str(b)) == a for a, b in zip(amounts, back, strict=True))
                summed = sa.func.sum(sa.cast(table.c.amount, sa.Numeric) if kind == "text" else table.c.amount)
                sum_s, sum_rows = timed(conn, sa.select(summed), args.runs)
                top_s, top_rows = timed(conn, sa.select(table.c.amount).order_by(table.c.amount.desc()).limit(50), args.runs)
                results[kind] = {
                    "exact": exact,
                    "sum_exact": Decimal(str(sum_rows[0][0])) == total,
                    "order_right": [Decimal(str(r[0])) for r in top_rows] == top,
                    "sum_s": sum_s,
                    "top_s": top_s,
                }
        engine.dispose()
    base = results["money"]
    print(f"{args.rows} amounts, median of {args.runs} runs, SQLite {sa.__version__ and __import__('sqlite3').sqlite_version}")
    print(f"{'storage':<14}{'exact back':>12}{'SUM exact':>11}{'top-50 order':>14}{'SUM vs Money':>14}{'top-50 vs Money':>17}")
    for kind, r in results.items():
        print(f"{kind:<14}{r['exact']:>12}{str(r['sum_exact']):>11}{str(r['order_right']):>14}{r['sum_s'] / base['sum_s']:>14.2f}{r['top_s'] / base['top_s']:>17.2f}")


if __name__ == "__main__":
    main()
