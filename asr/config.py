"""Stage configurations: dataclasses read from YAML, overridden by ``key=value`` on the command line.

Nested dataclasses are addressed with dots: ``model.hidden_size=320``. Values are parsed as YAML
scalars, so ``true``, ``1e-3`` and ``[1, 2]`` mean what they look like.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    pass


def _build(cls: type[T], data: dict[str, Any], where: str) -> T:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(names)}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key} must be a mapping, got {value!r}")
            value = _build(hint, value, f"{where}.{key}")
        elif hint is float and isinstance(value, (int, str)) and not isinstance(value, bool):
            # YAML 1.1 reads "3e-3" (no dot) as a string.
            try:
                value = float(value)
            except ValueError as e:
                raise ConfigError(f"{where}: {key} must be a number, got {value!r}") from e
        elif hint is str and isinstance(value, bool):
            # YAML 1.1 reads off/on/no/yes as booleans: `amp=off` means the string "off".
            value = "on" if value else "off"
        elif hint is int and not isinstance(value, int):
            raise ConfigError(f"{where}: {key} must be an integer, got {value!r}")
        kwargs[key] = value
    return cls(**kwargs)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {dotted}: {k} is not a section")
    node[keys[-1]] = value


def load_config(cls: type[T], path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> T:
    """Defaults of ``cls``, updated by the YAML file at ``path``, then by ``key=value`` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        data = loaded
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        _set_dotted(data, key.strip(), yaml.safe_load(raw))
    return _build(cls, data, str(path) if path else cls.__name__)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def save_config(cfg: Any, path: str | os.PathLike) -> None:
    """Write the resolved configuration as YAML (atomically)."""
    tmp = Path(str(path) + ".tmp")
    tmp.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    os.replace(tmp, path)


__all__ = ["ConfigError", "load_config", "save_config", "config_to_dict"]
