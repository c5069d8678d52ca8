"""Delivery: transport only. Building messages (``message``, ``mime``, ``headers``, ``qp``,
``sendgrid_payload``), signing them (``dkim``), and the backends that hand them over, behind
the one small base (``base``; ``smtp``, ``sendgrid``, ``outbox``, ``memory``; ``backends``
picks one from the settings). It knows nothing of campaigns, the database or the web."""
