"""Pure domain rules: member status, lapse alerts and agent tallies.

No I/O, no Kafka, no Faust: the stream worker and the offline replay both call these
functions, so the two cannot disagree.

- ``periods``: calendar-month arithmetic and due dates.
- ``events``: typed input events and the keyed NIK token.
- ``member``: the per-member ledger, status evaluation, emissions and the tick date.
- ``agent``: what each member contributes to agent figures, and the per-agent book.
- ``replay``: the offline computation behind ``jamsos replay``.

The same modules compiled with mypyc run instead when they were built for exactly these
sources (`jamsos.compiled_rules`); ``COMPILED`` says which run.
"""

from jamsos.compiled_rules import activate

COMPILED = activate(__path__)
"""Whether the mypyc-compiled rules run (else the pure-Python ones)."""
