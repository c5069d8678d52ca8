"""Sending from several machines: the batches a send claims go, as procrastinate jobs
in the PostgreSQL database, to ``mailer worker`` processes anywhere.

- :mod:`.queue`: the procrastinate app and the queue's name.
- :mod:`.dispatcher`: the sender's side; defers each batch in the claim's transaction
  and reads what came of it from the ledger.
- :mod:`.job`: the batch job a worker runs.
- :mod:`.worker`: ``mailer worker``'s loop.
- :mod:`.throttle`: the pause a provider's 429 puts on every worker.
- :mod:`.roster`: each worker's row (what it sends, how fast) for ``mailer workers ls``.
"""
