"""Pure domain rules: member status, lapse alerts and agent tallies.

No I/O, no Kafka, no Faust: the stream worker and the offline replay both call these
functions, so the two cannot disagree.

- ``periods``: calendar-month arithmetic and due dates.
- ``events``: typed input events and the keyed NIK token.
- ``member``: the per-member ledger, status evaluation, emissions and the tick date.
- ``agent``: what each member contributes to agent figures, and the per-agent book.
- ``replay``: the offline computation behind ``jamsos replay``.
"""
