"""Settings from files: every setting ``X`` can also be given as ``X_FILE``, a path whose text is
the value (Docker and Kubernetes secrets are mounted as files, so passwords, API key hashes and
the callback key never sit in an environment a ``docker inspect`` shows).

The plain variable, when set and not empty, wins over its ``*_FILE`` (so
``FASTSCALE_API_KEY_HASHES=... docker compose up`` still works beside a mounted, empty secret);
an empty or unset one gives way to the file. Trailing newlines are stripped; a file that cannot be read is an error naming the
variable, never silently an empty setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource


def env_names(name: str, field: FieldInfo, prefix: str) -> list[str]:
    """The environment variables a field is read from: FASTSCALE_NAME and any alias choices."""
    names = [f"{prefix}{name}".upper()]
    alias = field.validation_alias
    for choice in getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else []):
        if isinstance(choice, str):
            names.append(choice.upper())
    return names


class FileSecretsSource(PydanticBaseSettingsSource):
    """Values of ``<VARIABLE>_FILE`` environment variables, read from the files they name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        prefix = self.settings_cls.model_config.get("env_prefix", "")
        for env in env_names(field_name, field, prefix):
            path = os.environ.get(f"{env}_FILE")
            if any(os.environ.get(e) for e in env_names(field_name, field, prefix)):
                return None, field_name, False  # the plain variable, set and not empty, is used
            if path:
                try:
                    return Path(path).read_text().rstrip("\r\n"), field_name, False
                except OSError as exc:
                    raise ValueError(f"{env}_FILE={path}: cannot read it ({exc.strerror})") from None
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        out = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                out[key] = value
        return out


def sources(settings_cls: type[BaseSettings], init, env, dotenv, secrets) -> tuple:
    """Init arguments first, then ``*_FILE`` files, then the environment (pydantic-settings' order)."""
    return init, FileSecretsSource(settings_cls), env, dotenv, secrets
