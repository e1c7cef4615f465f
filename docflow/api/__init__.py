"""The upload API: API keys, document creation with presigned uploads, reads and lists."""
