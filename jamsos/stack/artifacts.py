"""Server artifacts fetched with the machine's own package clients (Maven, apt).

Only the registries reachable from every machine of the project are used: Maven Central for
the Kafka broker and the schema registry, Debian's packages for ClickHouse. Downloads land
in the stack's cache folder once and are reused by every later `stack up`.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from string import Template

from jamsos.settings import PROJECT_ROOT
from jamsos.stack.process import StackError

log = logging.getLogger(__name__)

DEPLOY_LOCAL = PROJECT_ROOT / "deploy" / "local"


def require_tool(tool: str, why: str, hint: str) -> str:
    """The path of `tool`, or a one-line StackError saying what is missing and how to get it."""
    # Debian installs servers in /usr/sbin, which is not on every user's PATH.
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        raise StackError(f"{tool} not found: it is needed {why}; {hint}")
    return path


def run_maven(args: list[str], log_file: Path, what: str) -> None:
    """Run `mvn -B -q ARGS`, output to `log_file`; a failure names the log to read."""
    mvn = require_tool("mvn", f"to fetch {what} from Maven Central", "install Debian's maven")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log.info("resolving %s from Maven Central (log %s)", what, log_file)
    with log_file.open("ab") as out:
        result = subprocess.run(
            [mvn, "-B", "-q", *args], stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        raise StackError(
            f"could not fetch {what} with mvn (exit {result.returncode}); read {log_file}"
        )


def render_text(template: Path, values: dict[str, object]) -> str:
    """`template` with `${name}` placeholders filled in."""
    return Template(template.read_text()).substitute({k: str(v) for k, v in values.items()})


def render(template: Path, target: Path, values: dict[str, object]) -> Path:
    """Write `template` with `${name}` placeholders filled in to `target`."""
    text = render_text(template, values)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target
