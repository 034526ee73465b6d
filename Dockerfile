# Two images from one file.
#   docker build --target api    -t fastscale-api .     # FastAPI + the pure core: no torch at all
#   docker build --target worker -t fastscale-worker .  # + CUDA PyTorch for GPU (and CPU) workers
# The API answers /plan and the analytic part of /scale without torch; only workers build models.

FROM python:3.12-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/fastscale
COPY pyproject.toml README.md ./
COPY fastscale ./fastscale
COPY service ./service
COPY app ./app
COPY workers ./workers
COPY cli ./cli
RUN pip install .

FROM base AS api
ENV FASTSCALE_HOST=0.0.0.0 FASTSCALE_PORT=8000
EXPOSE 8000
USER nobody
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
# `fastscale serve` (not bare uvicorn): the same header/keep-alive timeouts, connection caps and
# proxy trust as everywhere else, from the FASTSCALE_* settings. No local workers in this image.
CMD ["fastscale", "serve", "--workers", "0"]

FROM base AS worker
# CUDA 12.8 build of PyTorch (runs on CPU too); override TORCH_INDEX for another CUDA version.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cu128
RUN pip install --index-url ${TORCH_INDEX} "torch>=2.4"
USER nobody
# One worker process per visible GPU (CUDA_VISIBLE_DEVICES pins them), CPU workers without GPUs.
CMD ["fastscale", "worker", "--device", "auto"]
