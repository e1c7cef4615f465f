"""Sync: every change to a document, replicated to the analytics lake as JSON Lines."""
