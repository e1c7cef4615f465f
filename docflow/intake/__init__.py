"""Intake: what happens when an upload lands under `incoming/`."""
