"""Typed, validated dataclass configs loaded from YAML.

Every config in the project (world, training) is a frozen dataclass whose fields carry
their own constraints in ``field(metadata=...)``. ``build`` turns a plain mapping into such a
dataclass and raises :class:`ConfigError` naming the source file, the dotted key, the offending
value and what is allowed -- the one place where user input is checked.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file or override is malformed. The message names file, key, value and the rule."""

    def __init__(self, source: str, key: str, value: Any, expected: str):
        self.source, self.key, self.value, self.expected = source, key, value, expected
        super().__init__(f"{source}: {key} = {value!r}: expected {expected}")


def spec(*, ge: float | None = None, le: float | None = None, gt: float | None = None,
         lt: float | None = None, choices: tuple | None = None, doc: str = "") -> dict:
    """Field metadata: numeric bounds and/or allowed choices, checked by :func:`build`."""
    return {"ge": ge, "le": le, "gt": gt, "lt": lt, "choices": choices, "doc": doc}


def _bounds_text(meta: Mapping) -> str:
    parts = []
    for name, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if meta.get(name) is not None:
            parts.append(f"{sym} {meta[name]}")
    return " and ".join(parts)


def _check_scalar(value: Any, typ: type, meta: Mapping, source: str, key: str) -> Any:
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, key, value, "true or false")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(source, key, value, "an integer")
    elif typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(source, key, value, "a number")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(source, key, value, "a finite number")
    elif typ is str:
        if not isinstance(value, str):
            raise ConfigError(source, key, value, "a string")
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise ConfigError(source, key, value, "one of " + ", ".join(map(repr, meta["choices"])))
    for name, ok in (("ge", lambda v, b: v >= b), ("le", lambda v, b: v <= b),
                     ("gt", lambda v, b: v > b), ("lt", lambda v, b: v < b)):
        bound = meta.get(name)
        if bound is not None and not ok(value, bound):
            raise ConfigError(source, key, value, f"a value {_bounds_text(meta)}")
    return value


def _convert(value: Any, typ: Any, meta: Mapping, source: str, key: str) -> Any:
    origin = typing.get_origin(typ)
    if dataclasses.is_dataclass(typ):
        if not isinstance(value, Mapping):
            raise ConfigError(source, key, value, f"a mapping of {typ.__name__} fields")
        return build(typ, value, source, prefix=key + ".")
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], meta, source, key)
    if origin is tuple:
        # A (min, max) range, written either as [min, max] or as a single number.
        (elem, _) = typing.get_args(typ)
        if not isinstance(value, (list, tuple)):
            value = [value, value]
        if len(value) != 2:
            raise ConfigError(source, key, value, "[min, max] or a single value")
        lo, hi = (_check_scalar(v, elem, meta, source, key) for v in value)
        if lo > hi:
            raise ConfigError(source, key, list(value), "min <= max")
        return (lo, hi)
    if origin is list:
        (elem,) = typing.get_args(typ)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(source, key, value, "a list")
        return [_check_scalar(v, elem, meta, source, f"{key}[{i}]") for i, v in enumerate(value)]
    return _check_scalar(value, typ, meta, source, key)


def build(cls: type[T], data: Mapping[str, Any], source: str = "<config>", prefix: str = "") -> T:
    """Build and validate dataclass ``cls`` from ``data``; unknown keys are errors."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, prefix.rstrip(".") or "<root>", data, "a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(source, prefix + unknown[0], data[unknown[0]],
                          "a known key (one of " + ", ".join(sorted(fields)) + ")")
    kwargs = {name: _convert(data[name], hints[name], fields[name].metadata, source, prefix + name)
              for name in fields if name in data}
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check is not None:
        check(source)
    return obj


def to_dict(obj: Any) -> dict:
    """A dataclass config as plain YAML-serialisable data (ranges become lists)."""
    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        return v
    return plain(obj)


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "<file>", str(path), "an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "<file>", str(exc).splitlines()[0], "valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), "<root>", data, "a mapping of keys to values")
    return data


def parse_overrides(items: list[str] | tuple[str, ...], source: str = "command line") -> dict:
    """``["a.b=1", "c=[1,2]"]`` -> nested dict; values are parsed as YAML scalars/lists."""
    out: dict = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(source, item, item, "key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def merge(base: dict, extra: Mapping) -> dict:
    """Deep-merge ``extra`` into a copy of ``base``."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(dict(out[key]), value)
        else:
            out[key] = value
    return out
