"""The service layer shared by the API (``app``) and the workers (``workers``).

Settings, every Redis key (``keys``), the profile store, queues, ids, logs, errors, the embedded
Redis, and the logic of submitting, sweeping, recommending and recovering jobs. It imports the
pure core (``fastscale``) and service libraries (redis, rq, pydantic-settings, numpy,
matplotlib), never FastAPI or torch, so the API needs no torch and the workers no web stack.
This file imports nothing, so ``import service.polling`` stays as light as the CLI needs.
"""
