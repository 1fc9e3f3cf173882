"""`python -m jamsos` is the `jamsos` command."""

from jamsos.cli import main

main()
