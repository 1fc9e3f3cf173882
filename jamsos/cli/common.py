"""What every subcommand shares: settings from flags and environment, one-line failures."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from jamsos.demo.processes import RunError
from jamsos.settings import Settings
from jamsos.stack.process import StackError

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(RuntimeError):
    """A failure reported as `jamsos: <reason>` and exit status 1."""


def load_settings(**flags: Any) -> Settings:
    """Settings from `JAMSOS_*` with the given flags on top; bad values fail in one line."""
    try:
        return Settings.load(**flags)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise CommandError(f"setting {field}: {first['msg']}") from None


def one_line_errors(func: F) -> F:
    """Turn the project's expected failures into `CommandError` (one line, exit 1)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (StackError, RunError, ValueError, OSError) as error:
            raise CommandError(str(error)) from error

    return wrapper  # type: ignore[return-value]
