# Two images from one file.
#   docker build --target api    -t fastscale-api .     # FastAPI + the pure core: no torch at all
#   docker build --target worker -t fastscale-worker .  # + CUDA PyTorch for GPU (and CPU) workers
# The API answers /plan and the analytic part of /scale without torch; only workers build models.

FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/fastscale
COPY pyproject.toml README.md constraints.txt ./
COPY fastscale ./fastscale
COPY service ./service
COPY app ./app
COPY workers ./workers
COPY cli ./cli
COPY fastscale_client ./fastscale_client
# Every dependency at the version constraints.txt pins (scripts/lock.py, `make lock`).
RUN pip install -c constraints.txt .

FROM base AS api
ENV FASTSCALE_HOST=0.0.0.0 FASTSCALE_PORT=8000
EXPOSE 8000
USER nobody
# /readyz: the process answers and Redis is reachable (open to health checks; the fleet needs a key).
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
# `fastscale serve` (not bare uvicorn): the same header/keep-alive timeouts, connection caps and
# proxy trust as everywhere else, from the FASTSCALE_* settings. No local workers in this image.
# Without FASTSCALE_API_KEY_HASHES it refuses to start unless FASTSCALE_PUBLIC_ADDRESS is loopback.
CMD ["fastscale", "serve", "--workers", "0"]

FROM base AS worker
# The same torch and torchvision as the Makefile's TORCH pin, as the CUDA 12.8 builds (they run
# on CPU too; torchvision must be the build made for this torch); override TORCH_VERSION,
# TORCHVISION_VERSION and TORCH_INDEX together for another CUDA version. Then the interop extra
# (timm; torchvision is already the matching build), so workers can time torchvision's and timm's
# own modules (profile.implementation); a worker without it publishes only "fastscale".
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128
RUN pip install --index-url ${TORCH_INDEX} "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}" \
 && pip install ".[interop]"
USER nobody
# Healthy while every worker process here keeps its heartbeat file fresh (warm-up takes a while).
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s CMD ["fastscale", "worker", "--check"]
# One worker process per visible GPU (CUDA_VISIBLE_DEVICES pins them), CPU workers without GPUs.
CMD ["fastscale", "worker", "--device", "auto"]
