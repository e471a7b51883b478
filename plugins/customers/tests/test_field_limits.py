"""Every text a person can type has a limit (issue 15, observation 5): built-in fields of the kernel's
entities and of this plugin, list items included."""

from __future__ import annotations

import typing

from kernel import Site


def _limits(info) -> list[int]:
    return [m.max_length for m in info.metadata if getattr(m, "max_length", None) is not None]


def _text_without_limit(entity) -> list[str]:
    missing = []
    for name, info in entity.fields.model_fields.items():
        annotation = info.annotation
        union = typing.get_origin(annotation) in (typing.Union, getattr(__import__("types"), "UnionType"))
        args = [a for a in typing.get_args(annotation) if a is not type(None)] if union else [annotation]
        for arg in args:
            if arg is str and not _limits(info):
                missing.append(name)
            if typing.get_origin(arg) is list:
                item = typing.get_args(arg)[0] if typing.get_args(arg) else None
                inner = [m for meta in getattr(item, "__metadata__", ()) for m in (meta, *getattr(meta, "metadata", ()))
                         if getattr(m, "max_length", None)]
                if typing.get_origin(item) is typing.Annotated and typing.get_args(item)[0] is str and not inner:
                    missing.append(f"{name}[]")
                if item is str:
                    missing.append(f"{name}[]")
    return missing


def test_every_built_in_text_field_has_a_maximum_length(site: Site):
    view = site.view
    missing = {name: found for name, entity in view.entities.items() if (found := _text_without_limit(entity))}
    assert missing == {}
