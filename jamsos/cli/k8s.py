"""`jamsos k8s`: write (or check) the generated Kubernetes files under deploy/k8s/generated/."""

from __future__ import annotations

import click

from jamsos.cli.common import CommandError
from jamsos.kubernetes import GENERATED, stale, write


@click.command()
@click.option(
    "--check",
    is_flag=True,
    help="Only say whether the files match the code (exit 1 when they do not).",
)
def k8s(check: bool) -> None:
    """Strimzi topics and users (ACLs per service), generated from code."""
    if check:
        differ = stale()
        if differ:
            raise CommandError(
                f"{len(differ)} file(s) under {GENERATED} differ from the code "
                f"({', '.join(differ)}); run `jamsos k8s` and commit them"
            )
        click.echo(f"the files under {GENERATED} match the code")
        return
    for path in write():
        click.echo(f"wrote {path}")
