"""Who may call, and what they see: API keys, configured and compared only as SHA-256 digests
(``auth``); the per-client limits counted in Redis, POSTs per minute and wrong keys per address, one
failure throttle for every place a key is checked (``ratelimit``); keys as tenants, each seeing only
its own submissions (``tenants``); and the server-side sessions of /ui sign-ins (``sessions``).
"""
