"""Docker cannot run here: parse the compose file and Dockerfile and check they agree with the settings."""

import os
import re
import shutil
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
    return Settings(redis_url=interpolate(values["REDIS_URL"], env), **fields)


def env_names() -> set[str]:
    names = {"REDIS_URL"}
    for name, field in Settings.model_fields.items():
        names.add(f"FASTSCALE_{name.upper()}")
    return names


def test_services_present_and_each_worker_waits_for_its_own_profile():
    services = compose()["services"]
    assert {"redis", "api", "worker-gpu", "worker-cpu"} <= set(services)
    plain_up = [name for name, svc in services.items() if not svc.get("profiles")]
    assert set(plain_up) == {"redis", "api"}  # `docker compose up` needs no NVIDIA runtime
    assert services["worker-gpu"]["profiles"] == ["gpu"]  # the GPU profile starts no CPU worker
    assert services["worker-cpu"]["profiles"] == ["cpu"]


def test_redis_persists_with_aof_and_has_a_healthcheck():
    redis = compose()["services"]["redis"]
    cmd = " ".join(redis["command"])
    assert "--appendonly yes" in cmd
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    assert any(v.endswith(":/data") for v in redis["volumes"])


def test_every_environment_variable_is_a_setting_and_points_at_the_redis_service():
    known = env_names() | {f"{n}_FILE" for n in env_names()} | {"CUDA_VISIBLE_DEVICES"}
    for name, svc in compose()["services"].items():
        env = svc.get("environment", {})
        assert set(env) <= known, (name, set(env) - known)
        if name != "redis":
            assert interpolate(env["REDIS_URL"], {}).startswith("redis://redis:6379")
            Settings(**{"redis_url": interpolate(env["REDIS_URL"], {})})  # parses
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
    for name in ("worker-cpu", "worker-gpu"):
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


def test_one_gpu_worker_service_takes_every_visible_gpu_and_cpu_worker_sees_none():
    services = compose()["services"]
    gpu = services["worker-gpu"]
    [device] = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"] and device["count"] == "all"
    assert "device_ids" not in device  # never one hard-coded GPU
    assert gpu["command"][:4] == ["fastscale", "worker", "--device", "cuda"]
    assert not [n for n in services if n.startswith("worker-gpu") and n != "worker-gpu"]
    from workers.supervisor import plan_workers  # the supervisor: one process per visible GPU

    assert "one worker process per visible GPU" in (ROOT / "workers" / "supervisor.py").read_text()
    assert callable(plan_workers)
    assert services["worker-cpu"]["environment"]["CUDA_VISIBLE_DEVICES"] == ""


def test_dockerfile_api_image_carries_no_torch_and_worker_image_does():
    text = (ROOT / "Dockerfile").read_text()
    stages = dict(re.findall(r"FROM \S+ AS (\w+)\n(.*?)(?=\nFROM |\Z)", text, re.S))
    assert "torch" not in stages["base"] and "torch" not in stages["api"]
    assert "torch" in stages["worker"]
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith("torch") for d in deps), "torch must stay optional: the API image installs '.'"


# ------------------------------------------------------------------------- the fleet (issue 24)
def _flag(command: list, name: str) -> str:
    return command[command.index(name) + 1]


def test_redis_asks_for_a_password_from_a_secret_file_and_is_published_for_remote_workers():
    spec = compose()
    redis = spec["services"]["redis"]
    script = " ".join(redis["entrypoint"])
    assert "--requirepass" in script and "/run/secrets/redis_password" in script
    assert "redis_password" in redis["secrets"] and spec["secrets"]["redis_password"]["file"] == "./secrets/redis_password"
    assert "REDISCLI_AUTH" in " ".join(redis["healthcheck"]["test"])  # the health check authenticates too
    [port] = redis["ports"]
    assert interpolate(port, {}) == "0.0.0.0:6379:6379"  # remote GPU hosts dial it
    for name in ("api", "worker-gpu", "worker-cpu"):
        svc = spec["services"][name]
        assert svc["environment"]["FASTSCALE_REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password", name
        assert "redis_password" in svc["secrets"], name


def test_tls_is_an_overlay_that_makes_redis_speak_only_tls_and_clients_dial_rediss():
    overlay = yaml.safe_load((ROOT / "docker-compose.tls.yml").read_text())
    cmd = overlay["services"]["redis"]["command"]
    assert _flag(cmd, "--port") == "0" and _flag(cmd, "--tls-port") == "6379"
    for flag in ("--tls-cert-file", "--tls-key-file", "--tls-ca-cert-file"):
        assert _flag(cmd, flag).startswith("/run/secrets/"), flag
    for name in ("api", "worker-gpu", "worker-cpu"):
        url = interpolate(overlay["services"][name]["environment"]["REDIS_URL"], {})
        assert url.startswith("rediss://redis:6379/0") and "ssl_ca_certs=/run/secrets/redis_tls_ca" in url, name
    assert set(overlay["secrets"]) == {"redis_tls_cert", "redis_tls_key", "redis_tls_ca"}


def test_workers_finish_their_job_before_being_killed():
    spec = compose()
    timeout = int(spec["x-fastscale-env"]["FASTSCALE_JOB_TIMEOUT_S"])
    assert timeout == Settings().job_timeout_s
    units = {"s": 1, "m": 60, "h": 3600}
    for name in ("worker-gpu", "worker-cpu"):
        svc = spec["services"][name]
        grace = svc["stop_grace_period"]
        compose_grace = int(grace[:-1]) * units[grace[-1]]
        worker_grace = float(_flag(svc["command"], "--grace"))
        assert timeout < worker_grace < compose_grace, (name, timeout, worker_grace, compose_grace)


def test_secrets_are_files_read_through_the_FILE_settings(tmp_path, monkeypatch):
    spec = compose()
    api = spec["services"]["api"]["environment"]
    assert api["FASTSCALE_API_KEY_HASHES_FILE"] == "/run/secrets/api_key_hashes"
    assert api["FASTSCALE_CALLBACK_SECRET_FILE"] == "/run/secrets/callback_secret"
    for secret in spec["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    assert "/secrets/" in (ROOT / ".gitignore").read_text().split()
    (tmp_path / "pw").write_text("p@ss/word\n")
    (tmp_path / "keys").write_text("b" * 64 + "\n")
    (tmp_path / "cb").write_text("callback-key\n")
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("FASTSCALE_REDIS_PASSWORD_FILE", str(tmp_path / "pw"))
    monkeypatch.setenv("FASTSCALE_API_KEY_HASHES", "")  # compose's empty plain variable gives way to the file
    monkeypatch.setenv("FASTSCALE_API_KEY_HASHES_FILE", str(tmp_path / "keys"))
    monkeypatch.setenv("FASTSCALE_CALLBACK_SECRET_FILE", str(tmp_path / "cb"))
    s = Settings()
    assert s.redis_url == "redis://:p%40ss%2Fword@redis:6379/0"
    assert s.api_key_hashes == ["b" * 64] and s.callback_secret == "callback-key"
    import redis as redis_py

    kwargs = redis_py.connection.parse_url(s.redis_url)
    assert kwargs["password"] == "p@ss/word" and kwargs["host"] == "redis"
    monkeypatch.setenv("FASTSCALE_API_KEY_HASHES", "c" * 64)  # a plain value set wins
    assert Settings().api_key_hashes == ["c" * 64]
    monkeypatch.setenv("FASTSCALE_CALLBACK_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="FASTSCALE_CALLBACK_SECRET_FILE"):
        Settings()


def test_a_password_file_opens_a_real_password_protected_redis(tmp_path, monkeypatch):
    """The settings' URL (password from the file) authenticates against a real requirepass Redis."""
    import redis as redis_py

    from service.redis.embedded import free_port, redis_executable

    port = free_port()
    proc = subprocess.Popen([redis_executable(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--requirepass", "s3cret:x"], stdout=subprocess.DEVNULL)
    try:
        from service.polling import wait_until

        def up():
            try:
                return redis_py.Redis(port=port, password="s3cret:x").ping()
            except redis_py.ConnectionError:
                return False

        wait_until(up, bool, 30, what="password-protected redis")
        (tmp_path / "pw").write_text("s3cret:x\n")
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
        monkeypatch.setenv("FASTSCALE_REDIS_PASSWORD_FILE", str(tmp_path / "pw"))
        assert redis_py.Redis.from_url(Settings().redis_url).ping() is True
        with pytest.raises(redis_py.AuthenticationError):
            redis_py.Redis.from_url(f"redis://127.0.0.1:{port}/0").ping()
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_image_carries_the_client_and_installs_with_the_lock_file():
    docker = (ROOT / "Dockerfile").read_text()
    assert "COPY fastscale_client ./fastscale_client" in docker
    assert "COPY pyproject.toml README.md constraints.txt" in docker and "pip install -c constraints.txt ." in docker
    import tomllib

    pins = {line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
            for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = re.match(r"[A-Za-z0-9_.-]+", dep).group(0).lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned: run `make lock`"
    assert "lock:" in (ROOT / "Makefile").read_text() and (ROOT / "scripts" / "lock.py").exists()


@pytest.mark.skipif(not any(shutil.which(t) for t in ("docker-compose", "docker")), reason="no docker here")
def test_docker_compose_config_accepts_the_files(tmp_path):
    """`docker compose config` (or docker-compose v1) validates both files, secrets stubbed."""
    for name in ("docker-compose.yml", "docker-compose.tls.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "secrets" / "tls").mkdir(parents=True)
    for f in ("redis_password", "api_key_hashes", "callback_secret", "tls/ca.crt", "tls/redis.crt", "tls/redis.key"):
        (tmp_path / "secrets" / f).write_text("x\n")
    tools = [["docker", "compose"]] if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0 \
        else [["docker-compose"]] if shutil.which("docker-compose") else []
    if not tools:
        pytest.skip("docker has no compose plugin and docker-compose is not installed")
    for files in (["-f", "docker-compose.yml"], ["-f", "docker-compose.yml", "-f", "docker-compose.tls.yml"]):
        out = subprocess.run([*tools[0], *files, "--profile", "gpu", "--profile", "cpu", "config", "-q"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
