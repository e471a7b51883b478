"""A stand-in for ``orders``: records every ``pipeline_outcome_changed`` it hears, and refuses a deal named 'veto'."""

from __future__ import annotations

from typing import Any

from kernel import Vetoed, hookimpl

NAME = "outcomerecorder"
REQUIRES = ("pipeline",)
HEARD: list[tuple[int, str, str]] = []


@hookimpl
def pipeline_outcome_changed(opportunity: dict[str, Any], previous: str, outcome: str) -> None:
    if opportunity["name"] == "veto":
        raise Vetoed.at(["stage"], "the stand-in refuses this outcome")
    HEARD.append((opportunity["id"], previous, outcome))
