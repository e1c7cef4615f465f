"""Webhooks: signed deliveries of document events to subscribers, one breaker per subscriber."""
