"""fastscale's HTTP API. Modules here other than main/routes/problems import no FastAPI, so the
workers can share settings, ids, the Redis store and the queues without pulling the web stack."""
