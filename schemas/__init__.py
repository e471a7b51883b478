"""JSON Schemas shipped with PlugCRM (the custom-field meta-schema)."""

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed schema ``schemas/NAME.schema.json``."""
    return json.loads(files(__name__).joinpath(f"{name}.schema.json").read_text("utf-8"))
