"""Yearly statistics per tenant: counts and amounts per lifecycle stage (the figures of the seeds' reports)."""
