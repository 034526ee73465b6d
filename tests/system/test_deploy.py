"""Docker cannot run here: parse the compose file and Dockerfile and check they agree with the settings."""

import os
import re
import subprocess
import sys

import pytest
import yaml

from service.settings import Settings
from tests.service_helpers import ROOT

INTERPOLATION = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def interpolate(value: str, env: dict) -> str:
    """What docker compose makes of ${VAR} and ${VAR:-default} in ``value`` under ``env``."""
    return INTERPOLATION.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


def api_settings(env: dict) -> Settings:
    """The settings the API container starts with, for a given shell environment of `docker compose up`."""
    values = {k: interpolate(str(v), env) for k, v in compose()["services"]["api"]["environment"].items()}
    fields = {name: values[f"FASTSCALE_{name.upper()}"] for name in Settings.model_fields
              if f"FASTSCALE_{name.upper()}" in values}
    return Settings(redis_url=values["REDIS_URL"], **fields)


def env_names() -> set[str]:
    names = {"REDIS_URL"}
    for name, field in Settings.model_fields.items():
        names.add(f"FASTSCALE_{name.upper()}")
    return names


def test_services_present_and_the_gpu_worker_waits_for_the_gpu_profile():
    services = compose()["services"]
    assert {"redis", "api", "worker-gpu0", "worker-cpu"} <= set(services)
    plain_up = [name for name, svc in services.items() if not svc.get("profiles")]
    assert set(plain_up) == {"redis", "api", "worker-cpu"}  # `docker compose up` needs no NVIDIA runtime
    assert services["worker-gpu0"]["profiles"] == ["gpu"]


def test_redis_persists_with_aof_and_has_a_healthcheck():
    redis = compose()["services"]["redis"]
    cmd = " ".join(redis["command"])
    assert "--appendonly yes" in cmd
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    assert any(v.endswith(":/data") for v in redis["volumes"])


def test_every_environment_variable_is_a_setting_and_points_at_the_redis_service():
    known = env_names() | {"CUDA_VISIBLE_DEVICES"}
    for name, svc in compose()["services"].items():
        env = svc.get("environment", {})
        assert set(env) <= known, (name, set(env) - known)
        if name != "redis":
            assert env["REDIS_URL"].startswith("redis://redis:6379")
            Settings(**{"redis_url": env["REDIS_URL"]})  # parses
            depends = svc["depends_on"]["redis"]["condition"]
            assert depends == "service_healthy"


def test_api_port_matches_settings_and_image_and_is_published_on_loopback_by_default():
    api = compose()["services"]["api"]
    port = int(api["environment"]["FASTSCALE_PORT"])
    assert [interpolate(p, {}) for p in api["ports"]] == [f"127.0.0.1:{port}:{port}"]
    assert Settings().port == port == 8000
    assert f"EXPOSE {port}" in (ROOT / "Dockerfile").read_text()


@pytest.mark.parametrize("env,refused", [
    ({}, False),  # plain `docker compose up`: loopback only, no keys needed
    ({"FASTSCALE_PUBLISH": "0.0.0.0"}, True),  # every interface without keys: refused
    ({"FASTSCALE_PUBLISH": "0.0.0.0", "FASTSCALE_API_KEY_HASHES": "a" * 64}, False),
])
def test_the_api_refuses_to_start_exposed_without_keys(env, refused):
    from cli.serve import exposure_problem

    settings = api_settings(env)
    published = interpolate(compose()["services"]["api"]["ports"][0], env).rsplit(":", 2)[0]
    assert settings.public_address == published  # the check sees the address compose publishes on
    assert (exposure_problem(settings) is not None) == refused


def test_fastscale_serve_exits_with_the_reason_when_exposed_without_keys():
    env = {**os.environ, "FASTSCALE_API_KEY_HASHES": "", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "cli.main", "serve", "--host", "0.0.0.0", "--workers", "0"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "FASTSCALE_API_KEY_HASHES" in out.stderr and "refusing" in out.stderr


def test_health_checks_use_readyz_and_every_worker_has_one():
    services = compose()["services"]
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    for name in ("worker-cpu", "worker-gpu0"):
        assert services[name]["healthcheck"]["test"] == ["CMD", "fastscale", "worker", "--check"], name
    docker = (ROOT / "Dockerfile").read_text()
    assert "/readyz" in docker and '"fastscale", "worker", "--check"' in docker


def test_the_worker_image_pins_the_makefiles_torch():
    makefile = (ROOT / "Makefile").read_text()
    pin = re.search(r"^TORCH \?= torch==(\S+)", makefile, re.M).group(1)
    vision = re.search(r"^TORCH \?= .*torchvision==(\S+)", makefile, re.M).group(1)
    docker = (ROOT / "Dockerfile").read_text()
    assert f"ARG TORCH_VERSION={pin}" in docker and '"torch==${TORCH_VERSION}"' in docker
    # the interop extra needs the torchvision built for that torch
    assert f"ARG TORCHVISION_VERSION={vision}" in docker and '"torchvision==${TORCHVISION_VERSION}"' in docker
    assert '.[interop]' in docker


def test_the_readme_documents_docker_compose_up():
    readme = (ROOT / "README.md").read_text()
    assert "docker compose up" in readme and "--profile gpu" in readme


def test_gpu_worker_reserves_an_nvidia_device_and_cpu_worker_sees_none():
    services = compose()["services"]
    gpu = services["worker-gpu0"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"] and len(device["device_ids"]) == 1
    assert "cuda" in gpu["command"]
    assert services["worker-cpu"]["environment"]["CUDA_VISIBLE_DEVICES"] == ""


def test_dockerfile_api_image_carries_no_torch_and_worker_image_does():
    text = (ROOT / "Dockerfile").read_text()
    stages = dict(re.findall(r"FROM \S+ AS (\w+)\n(.*?)(?=\nFROM |\Z)", text, re.S))
    assert "torch" not in stages["base"] and "torch" not in stages["api"]
    assert "torch" in stages["worker"]
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith("torch") for d in deps), "torch must stay optional: the API image installs '.'"
