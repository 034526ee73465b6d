"""The one error type of the scaling core.

Every bad value the core rejects raises ``ScalingError`` naming the field and what is allowed,
so the API can turn it into a 422 and the CLI into one line on stderr without guessing.
"""

from __future__ import annotations


class ScalingError(ValueError):
    """A request the core cannot plan: ``field`` names the input, ``allowed`` says the fix."""

    def __init__(self, field: str, message: str, allowed: str | None = None):
        self.field = field
        self.message = message
        self.allowed = allowed
        text = f"{field}: {message}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)

    def to_dict(self) -> dict:
        return {"field": self.field, "message": self.message, "allowed": self.allowed}
