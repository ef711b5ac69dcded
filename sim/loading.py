"""Loading YAML files into validated models, with errors that point into the file.

Pydantic does the validation; this module turns its errors into one :class:`ConfigError` per
file whose message names the file, the key path (``timeline[3].wifi``) and the bad value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from sim.errors import ConfigError
from sim.units import parse_duration, parse_size

Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written in files as ``90``, ``90s``, ``2h30m`` or ``1d``."""

Size = Annotated[int, BeforeValidator(parse_size)]
"""Bytes, written in files as ``1024``, ``512MB`` or ``64GiB``."""


class Strict(BaseModel):
    """Base of every file model: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=BaseModel)


def key_path(loc: tuple[int | str, ...]) -> str:
    """``('timeline', 3, 'wifi')`` → ``timeline[3].wifi``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _problem(error: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def validate(model: type[M], data: object, source: str | Path) -> M:
    """Validate ``data`` as ``model``; the first problem becomes a :class:`ConfigError`.

    One error, not a list: a person fixes a file one mistake at a time, and pydantic's later
    errors are often echoes of the first.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = tuple(p for p in first["loc"]
                    if not (isinstance(p, str) and p.startswith("function-")))
        raise ConfigError(source, key_path(loc), first.get("input"),
                          _problem(first, model)) from None


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it: ten times the pure-Python speed."""


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; unreadable files and syntax errors become :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, "", str(path), f"cannot read file: {exc.strerror}") from None
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(path, "", where, f"YAML syntax error: {problem}") from None


def load_model(model: type[M], path: Path, overrides: dict[str, Any] | None = None) -> M:
    """Load and validate a YAML mapping file as ``model``."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "", type(data).__name__, "expected a mapping at the top level")
    if overrides:
        data = {**data, **overrides}
    return validate(model, data, path)
