"""Webhooks: the submit fields (`request`), account secrets (`secrets`), and delivery
of the outbox the queue writes (`delivery`; the outbox itself is jobs/outbox.py)."""
