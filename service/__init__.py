"""The service layer shared by the API (``app``) and the workers (``workers``).

At this level, what every room uses: ``settings`` (every setting), ``errors`` (every named error
and the one problem renderer), ``ids`` (content-addressed ids), ``logs``, ``polling`` (the one
wait loop) and ``context`` (what one API process shares). The rooms, by capability: ``redis/``
(keys, queues, leases, the embedded server), ``profiles/`` (submit, jobs, the store and its
transitions, cancel, recovery), ``sweeps/``, ``recommendations/``, ``listing/``, ``notify/``
(outbox, callbacks, events), ``planning/`` (where plans are computed), ``prediction/`` and
``access/`` (keys and rate limits). It imports the pure core (``fastscale``) and service
libraries (redis, rq, pydantic-settings, numpy, matplotlib), never FastAPI or torch, so the API
needs no torch and the workers no web stack.
This file imports nothing, so ``import service.polling`` stays as light as the CLI needs.
"""
