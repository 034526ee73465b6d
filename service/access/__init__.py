"""Who may call: API keys, configured and compared only as SHA-256 digests (``auth``), and the
per-client limits counted in Redis, POSTs per minute and wrong keys per address (``ratelimit``).
"""
