# syntax=docker/dockerfile:1
# driftwarden image: `docker build -t driftwarden .` from the repository root.
#
# Where no registry is reachable, build on a local base and trust the host's CA store
# (scripts/install-containers.sh does this with podman and a debootstrap base image):
#   podman --runtime runc build --network host \
#     -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
#     --build-arg PYTHON_IMAGE=localhost/python:3.11-bookworm-local \
#     --build-arg UV_NATIVE_TLS=1 -t localhost/driftwarden:dev .
#
# Two stages on the same Python image: the build stage installs the locked dependencies
# and the project into /app/.venv with uv; the runtime stage copies only that venv (no
# uv, pip caches or sources). Both stages must use one image because the venv's python
# is a symlink into it. Pin by digest where a registry is reachable
# (python:3.11.14-slim-bookworm@sha256:...) and let a bot bump it.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# The uv that wrote uv.lock (pyproject's dev tooling), from PyPI.
ARG UV_VERSION=0.13.9
# 1: uv trusts the system's CA store (e.g. a mounted host bundle) instead of its own roots.
ARG UV_NATIVE_TLS=0
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
# Bytecode is compiled now because the root filesystem is read-only at run time.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies only, from the committed lock: this layer changes only with uv.lock.
# With the librdkafka extra (confluent-kafka: a manylinux wheel with librdkafka inside, ~15
# MB, no compiler or system library), so `kafka.client: librdkafka` is a config switch
# for chart users, not a rebuild; kafka-python stays the default client.
# Absolute bind targets: podman's builder rejects relative ones (Docker takes both).
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=/app/uv.lock \
    --mount=type=bind,source=pyproject.toml,target=/app/pyproject.toml \
    uv sync --frozen --no-dev --no-install-project --extra librdkafka
COPY pyproject.toml uv.lock README.md ./
COPY detectors ./detectors
COPY baselines ./baselines
COPY monitor ./monitor
# The `driftwarden` import package: its __init__.py, py.typed and relative symlinks to the
# three folders above, which the wheel build follows (pyproject.toml).
COPY src ./src
# The project itself as a regular (non-editable) install, so the runtime needs no sources.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --extra librdkafka

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="driftwarden" \
      org.opencontainers.image.description="Kafka-native drift monitoring for ML models" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric, non-root user: with runAsNonRoot the kubelet can only verify a numeric UID.
RUN groupadd --system --gid 10001 driftwarden \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin driftwarden
# Root-owned venv: the daemon cannot rewrite its own code.
COPY --from=build /app/.venv /app/.venv
# The venv's bytecode was compiled in the build stage (UV_COMPILE_BYTECODE); the standard
# library's is compiled here, as the base image may ship without it: with a read-only root
# filesystem and PYTHONDONTWRITEBYTECODE a missing .pyc is compiled again on every start.
# compileall skips modules whose bytecode is current, so on a complete image this is a no-op.
RUN python -m compileall -q -j 0 "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')" > /dev/null
# HOME and the working directory point at /tmp, the only writable path in the pod.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
WORKDIR /tmp
USER 10001:10001
EXPOSE 9108
# Exec form: the daemon is PID 1 and receives SIGTERM itself (it handles it within
# shutdown.grace_period); a shell in between would swallow the signal.
ENTRYPOINT ["driftwarden"]
CMD ["run", "--config", "/etc/driftwarden/driftwarden.yaml"]
