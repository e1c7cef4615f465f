"""Log analytics: per time window request count, error rate and latency percentiles."""
