"""Delivery: campaigns, the send ledger, and the backends that hand mail over."""
