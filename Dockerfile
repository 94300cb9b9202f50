# Parta's container image: a build stage that installs the pinned dependencies (requirements.lock,
# every package with its hash) and the package into a virtual environment, and a slim runtime
# stage that runs it as an unprivileged user. See docs/deployment.md.
#
#   docker build -t parta .
#   docker run --env-file .env -v parta-data:/data parta            # long polling, SQLite
#   docker compose -f docs/deploy/compose.yaml up -d                # PostgreSQL, Redis, 2 replicas
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/parta
WORKDIR /src
# dependencies first: this layer is rebuilt only when the lock file changes
COPY requirements.lock ./
RUN /opt/parta/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY services ./services
COPY db ./db
COPY locales ./locales
# the package itself (catalogs compiled by the build); its dependencies are already in place
RUN /opt/parta/bin/pip install --no-deps . \
    && /opt/parta/bin/parta --version \
    && /opt/parta/bin/python -m compileall -q /opt/parta/lib

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 parta \
    && useradd --system --uid 10001 --gid parta --home-dir /data --shell /usr/sbin/nologin parta \
    && mkdir -p /data \
    && chown parta:parta /data
COPY --from=build /opt/parta /opt/parta
# /data holds the SQLite file and its generated code secret (embedded default), the school's
# kept files and the nightly backups; mount a volume there
ENV PATH=/opt/parta/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/parta.sqlite3 \
    FILES_DIR=/data/files \
    WEBHOOK_HOST=0.0.0.0 \
    WEBHOOK_PORT=8080 \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9090
WORKDIR /data
USER parta:parta
VOLUME ["/data"]
# the webhook server (it serves /healthz, /readyz and /metrics too) and the health and
# metrics port of every mode (METRICS_PORT; the health check below uses it)
EXPOSE 8080 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['METRICS_PORT'], timeout=4)"]
# SIGTERM: stop taking updates, finish those in flight, then exit
STOPSIGNAL SIGTERM
ENTRYPOINT ["parta"]
CMD ["run"]
