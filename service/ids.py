"""Content-addressed ids: the same request on the same device class gives the same id.

Profiles, sweeps and recommendations are all named by a hash of what determines them, so asking
twice finds the first answer (and concurrent identical requests meet on one record).
"""

from __future__ import annotations

import hashlib
import json
import re

ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def canonical_json(data) -> str:
    """Sorted keys, no whitespace, floats as repr: two equal requests give equal bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def content_id(material) -> str:
    """32 hex characters of the SHA-256 of ``material``'s canonical JSON."""
    return hashlib.sha256(canonical_json(material).encode()).hexdigest()[:32]


def profile_id(plan: dict, profile: dict, device_class: str) -> str:
    """Hash of what determines the measurement: the architecture, resolution, settings and device.

    Only the scaled architecture and resolution of the plan enter (two routes to the same network,
    e.g. factor 4 or the equivalent target flops, share one measurement).
    """
    return content_id({"arch": plan["arch"], "resolution": plan["resolution"], "profile": profile,
                       "device": device_class})


def valid_id(value: str) -> bool:
    return bool(ID_PATTERN.match(value))
