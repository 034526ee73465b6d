"""Errors of the client: every error answer of the API (application/problem+json) becomes an
``ApiError`` that carries the problem's fields, so callers match on ``status`` and ``errors``
instead of parsing text."""

from __future__ import annotations

from app.schemas.responses import Problem, ProblemField


class ApiError(RuntimeError):
    """An error answer: ``status``, ``title``, ``detail``, ``errors`` (field, message, allowed), ``type``."""

    def __init__(self, status: int, body: dict | str, retry_after: str | None = None):
        self.status, self.body, self.retry_after = status, body, retry_after
        problem = None
        if isinstance(body, dict):
            try:
                problem = Problem.model_validate(body)
            except ValueError:
                problem = None
        self.problem = problem
        self.type = problem.type if problem else "about:blank"
        self.title = problem.title if problem else "HTTP error"
        self.detail = problem.detail if problem else (body if isinstance(body, str) else str(body))[:500]
        self.errors: list[ProblemField] = problem.errors if problem else []
        super().__init__(f"HTTP {status}: {self.detail}")

    @property
    def fields(self) -> list[str]:
        """The request fields at fault (``profile.batch_size``, ``callback_url``, ...)."""
        return [e.field for e in self.errors if e.field]


class StreamBroken(RuntimeError):
    """An event stream ended before the final state (the caller falls back to polling)."""
