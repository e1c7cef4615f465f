"""Notify: one e-mail to a document's owner per document event, through SES."""
