"""Transactional outbox: events are rows written with the business rows, then published to the broker.

``dispatch.record`` writes the row inside the caller's transaction and tries to publish it once that commits (the
fast path); rows the broker did not take are sent again by ``relay.relay_due`` (the beat task
``outbox.relay_events`` and the ``relay_events`` management command). Imports nothing of the other apps.
"""
