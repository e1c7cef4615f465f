"""Documents: the record every workflow reads and moves through its statuses."""
