"""Docker cannot run here: parse the compose file and Dockerfile and check they agree with the settings."""

import re

import yaml

from service.settings import Settings
from tests.service_helpers import ROOT


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_names() -> set[str]:
    names = {"REDIS_URL"}
    for name, field in Settings.model_fields.items():
        names.add(f"FASTSCALE_{name.upper()}")
    return names


def test_services_present():
    assert {"redis", "api", "worker-gpu0", "worker-cpu"} <= set(compose()["services"])


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


def test_api_port_matches_settings_and_image():
    api = compose()["services"]["api"]
    port = int(api["environment"]["FASTSCALE_PORT"])
    assert api["ports"] == [f"{port}:{port}"]
    assert Settings().port == port == 8000
    assert f"EXPOSE {port}" in (ROOT / "Dockerfile").read_text()


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
