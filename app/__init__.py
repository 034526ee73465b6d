"""fastscale's HTTP API, FastAPI only: the app (main), one router per resource (routers), the
request and response models (schemas), dependencies (deps), middlewares, problem handlers and the
OpenAPI schema. Everything else it runs on (settings, store, queues, submitting, sweeps, ...) is
the service layer, ``service``, which the workers share."""
