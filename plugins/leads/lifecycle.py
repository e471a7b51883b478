"""The leads' write rules besides the state machine itself: an invalid lead names why; a lead given
an owner leaves ``new`` (``assigned``), one going back to its pool unowned before anyone contacted it
is ``new`` again; the first follow-up makes a new or assigned lead ``contacting``; and the conversion
links are written by the convert action only."""

from __future__ import annotations

from typing import Any

from kernel import N_, Vetoed

#: Fields only the convert action writes.
LINKS = ("customer_id", "contact_id", "opportunity_id", "converted_at")


def check_transition(record: dict[str, Any], to_state: str) -> None:
    """``before_transition``: entering ``invalid`` needs ``invalid_reason``."""
    if to_state == "invalid" and not record.get("invalid_reason"):
        raise Vetoed.at(["invalid_reason"], N_("say why the lead is invalid"))


def follow_owner(record: dict[str, Any], changes: dict[str, Any]) -> None:
    """An owner change moves ``new`` ↔ ``assigned`` unless the caller sets the status itself."""
    if "owner_id" not in changes or "status" in changes:
        return
    status, before, after = record.get("status"), record.get("owner_id"), changes["owner_id"]
    if status == "new" and before is None and after is not None:
        changes["status"] = "assigned"
    elif status == "assigned" and before is not None and after is None:
        changes["status"] = "new"


def guard_links(changes: dict[str, Any], converting: bool) -> None:
    """Only the convert action writes the links to what a lead became, and its ``converted`` status."""
    if converting:
        return
    for name in LINKS:
        if name in changes:
            raise Vetoed.at([name], N_("is set by converting the lead"))
    if changes.get("status") == "converted":
        raise Vetoed.at(["status"], N_("a lead becomes converted through the convert action"))


def on_create(values: dict[str, Any]) -> None:
    """A lead created with an owner starts ``assigned``; none is created converted or linked."""
    guard_links({k: v for k, v in values.items() if k in LINKS and v is not None} | (
        {"status": "converted"} if values.get("status") == "converted" else {}), False)
    if values.get("owner_id") is not None and values.get("status", "new") == "new":
        values["status"] = "assigned"
