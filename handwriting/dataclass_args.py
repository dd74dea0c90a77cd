"""CLI flags that mirror dataclass fields, so no option is typed twice.

Each field becomes ``--field-name`` with the field's type, default and ``metadata["help"]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def _field_type(cls: type, f: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(cls)
    kind = hints.get(f.name, f.type)
    if typing.get_origin(kind) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        kind = args[0] if len(args) == 1 else str
    return kind


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, *, exclude: tuple[str, ...] = ()) -> None:
    """Add one ``--flag`` per field of dataclass ``cls``; unset flags stay ``None``."""
    group = parser.add_argument_group(f"{cls.__name__} options")
    for f in dataclasses.fields(cls):
        if f.name in exclude or not f.init:
            continue
        kind = _field_type(cls, f)
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        help_text = f.metadata.get("help", "")
        help_text = f"{help_text} (default: {default})" if help_text else f"default: {default}"
        flag = "--" + f.name.replace("_", "-")
        if kind is bool:
            group.add_argument(flag, dest=f.name, type=_parse_bool, default=None, metavar="BOOL", help=help_text)
        elif kind in (int, float, str):
            group.add_argument(flag, dest=f.name, type=kind, default=None, choices=f.metadata.get("choices"),
                               help=help_text)
        elif typing.get_origin(kind) in (tuple, list):
            item = (typing.get_args(kind) or (str,))[0]
            group.add_argument(flag, dest=f.name, type=item, nargs="+", default=None, help=help_text)
        else:
            group.add_argument(flag, dest=f.name, type=str, default=None, help=help_text)


def dataclass_from_arguments(cls: type[T], args: argparse.Namespace, **overrides: Any) -> T:
    """Build ``cls`` from parsed arguments: flags that were given override the defaults."""
    values = {}
    for f in dataclasses.fields(cls):
        value = getattr(args, f.name, None)
        if value is not None:
            origin = typing.get_origin(_field_type(cls, f))
            values[f.name] = tuple(value) if origin is tuple else value
    values.update(overrides)
    return cls(**values)
