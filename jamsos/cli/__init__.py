"""The `jamsos` command line: one entry point, a subcommand per job (see spec/cli.md).

Logging is configured here and only here; every failure a person can act on ends as one
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import logging
import sys

import click

from jamsos.cli.bench import bench
from jamsos.cli.common import CommandError
from jamsos.cli.contracts import publish, schemas
from jamsos.cli.db import db
from jamsos.cli.dead_letters import dead_letters
from jamsos.cli.demo import demo
from jamsos.cli.generated import grafana, k8s
from jamsos.cli.replay import replay
from jamsos.cli.simulate import simulate
from jamsos.cli.sink import sink
from jamsos.cli.stack import stack
from jamsos.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """jamsos: member status and agent tallies from Kafka into ClickHouse."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


cli.add_command(stack)
cli.add_command(worker)
cli.add_command(publish)
cli.add_command(schemas)
cli.add_command(dead_letters)
cli.add_command(simulate)
cli.add_command(replay)
cli.add_command(demo)
cli.add_command(db)
cli.add_command(sink)
cli.add_command(bench)
cli.add_command(grafana)
cli.add_command(k8s)


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except CommandError as error:
        click.echo(f"jamsos: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # the last resort: one line, never a traceback
        logging.getLogger("jamsos").debug("failed", exc_info=True)
        click.echo(
            f"jamsos: unexpected {type(error).__name__}: {error} "
            "(run again with -vv for the details in the log)",
            err=True,
        )
        sys.exit(1)
