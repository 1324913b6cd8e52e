"""Stage configurations: one dataclass per stage, its defaults written once, in the dataclass.

Two ways in, both derived from the dataclass:

- YAML + ``key=value`` (:func:`load_config`): nested dataclasses are addressed with dots
  (``model.hidden_size=320``); values are parsed as YAML scalars, so ``true``, ``1e-3`` and ``[1, 2]``
  mean what they look like.
- command-line flags (:func:`add_config_arguments` + :func:`config_from_args`): one ``--field-name``
  per field, its default and help taken from the dataclass (help from ``option(..., help=...)``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import types
import typing
from typing import Any, TypeVar

import yaml

from asr.io import InputError, atomic_write_text, read_text, unknown_keys_error

T = TypeVar("T")


class ConfigError(InputError):
    pass


def _build(cls: type[T], data: dict[str, Any], where: str) -> T:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(str(unknown_keys_error(where, unknown, names)))
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
        elif hint is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"{where}: {key} must be an integer, got {value!r}")
        elif hint is bool and not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
        elif hint is float and not isinstance(value, float):
            raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
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
        try:
            loaded = yaml.safe_load(read_text(path)) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}{line}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        data = loaded
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise ConfigError(f"override {item!r}: the value is not valid YAML ({getattr(e, 'problem', e)})") from None
        _set_dotted(data, key.strip(), value)
    where = str(path) if path else cls.__name__
    try:
        return _build(cls, data, where)
    except (TypeError, ValueError) as e:  # a dataclass's own checks (__post_init__), named with the file
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{where}: {e}") from None


def config_to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def save_config(cfg: Any, path: str | os.PathLike) -> None:
    """Write the resolved configuration as YAML (atomically)."""
    atomic_write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


# ----------------------------------------------------------------------------------- command-line flags


def option(default: Any = dataclasses.MISSING, *, help: str = "", flags: tuple[str, ...] = (),  # noqa: A002
           choices: typing.Sequence[Any] | None = None, metavar: str | None = None,
           default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with what its command-line flag needs: ``help``, extra ``flags`` (aliases),
    ``choices``. ``x: int = option(3, help="...")``."""
    meta = {"help": help, "flags": flags, "choices": choices, "metavar": metavar}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _strip_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _sequence_parser(hint: Any, name: str):
    """``list[float]`` / ``tuple[int, int]`` from comma-separated text ("1,2.5")."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    item = args[0] if args else str
    size = len(args) if origin is tuple and args and args[-1] is not Ellipsis else None

    def parse(text: str):
        try:
            values = [item(x.strip()) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name}: expected comma-separated {item.__name__} values, "
                                             f"got {text!r}") from None
        if size is not None and len(values) != size:
            raise argparse.ArgumentTypeError(f"--{name}: expected {size} comma-separated values, got {text!r}")
        return tuple(values) if origin is tuple else values

    return parse


def _show(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return value


def add_config_arguments(parser: argparse.ArgumentParser | Any, cls: type, *, only: typing.Iterable[str] | None = None,
                         exclude: typing.Iterable[str] = (), unset: typing.Iterable[str] = (),
                         unset_help: str = "unset") -> None:
    """One flag per field of dataclass ``cls`` (``--hop-ms``), default and help from the field.

    ``only``/``exclude`` choose fields (nested dataclasses are never flags: use YAML for them).
    Fields named in ``unset`` default to None on the command line (the caller decides what that
    means, e.g. "take the model's decode.json"); their help says ``unset_help`` and the dataclass
    default. Booleans get ``--x/--no-x``; lists and tuples are comma-separated.
    """
    hints = typing.get_type_hints(cls)
    unset = set(unset)
    chosen = None if only is None else list(only)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    named = set(chosen or ()) | set(exclude) | unset
    if named - set(by_name):
        raise ValueError(f"{cls.__name__} has no field(s) {sorted(named - set(by_name))}")
    for name in chosen if chosen is not None else list(by_name):
        f = by_name[name]
        hint = _strip_optional(hints[name])
        if name in exclude or dataclasses.is_dataclass(hint):
            continue
        meta = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        help_ = meta.get("help", "")
        if name in unset:
            help_ = f"{help_}; {unset_help}: {_show(default)}".lstrip("; ")
        # argparse %-formats help texts ("%(default)s"): a literal % must be doubled.
        kw: dict[str, Any] = {"dest": name, "help": help_.replace("%", "%%"),
                              "default": None if name in unset else _show(default),
                              "metavar": meta.get("metavar")}
        if hint is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(hint) in (list, tuple):
            # The default is shown as text ("0.5,1.0"); argparse passes a text default through `type` too.
            kw["type"] = _sequence_parser(hint, name.replace("_", "-"))
            kw["metavar"] = kw["metavar"] or "A,B"
        elif hint in (int, float, str):
            kw["type"] = hint
        else:
            raise TypeError(f"{cls.__name__}.{name}: no command-line form for type {hint!r}")
        if meta.get("choices") is not None:
            kw["choices"] = meta["choices"]
        parser.add_argument(f"--{name.replace('_', '-')}", *meta.get("flags", ()), **kw)


def config_from_args(cls: type[T], args: argparse.Namespace, **changes: Any) -> T:
    """``cls`` built from the parsed flags of :func:`add_config_arguments` (None = the field's default),
    then ``changes``."""
    kwargs = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}
    return cls(**{**kwargs, **changes})


__all__ = ["ConfigError", "load_config", "save_config", "config_to_dict", "option", "add_config_arguments",
           "config_from_args"]
