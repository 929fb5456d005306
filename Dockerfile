# syntax=docker/dockerfile:1
# The GarmaxAI Enterprise API as one OCI image for every process (README, "Deploying"):
#   web      gunicorn config.wsgi                    (the default command; PORT, WEB_CONCURRENCY)
#   worker   celery -A config worker [-Q queues]
#   beat     celery -A config beat                   (exactly one)
#   one-shot python manage.py migrate | renderer_check --output /tmp/check.jpg | createsuperuser
# Configured only by environment variables (README, "Configuration"). Runs as uid 10001 with a read-only
# root filesystem: GARMAX_DATA_DIR (/var/lib/garmax) and /tmp are the only places it writes.
#
# BASE_IMAGE is the official Python image by default; any Debian bookworm image works too (CI builds on a
# debootstrap'ed one): when it has no python3, Debian's python3 (3.11) is installed from its apt sources.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS python
# On every stage's image too, so a builder can find (and remove) this build's intermediate images.
LABEL org.opencontainers.image.title="garmax-api"
RUN set -eu; \
    if ! command -v python3 >/dev/null 2>&1; then \
      apt-get update; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3; \
      rm -rf /var/lib/apt/lists/* /var/cache/apt/*; \
    fi; \
    python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version'

# --- build: the virtualenv and the collected static files; pip and its downloads stay in this stage ----
FROM python AS build
RUN set -eu; \
    if ! python3 -c 'import ensurepip' 2>/dev/null; then \
      apt-get update; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv; \
      rm -rf /var/lib/apt/lists/* /var/cache/apt/*; \
    fi; \
    python3 -m venv /opt/venv
# A CA bundle for pip behind a TLS-inspecting proxy (the file itself is mounted by the builder, e.g.
# podman build --volume /etc/ssl/certs/ca-certificates.crt:...:ro); empty means pip's own bundle.
ARG PIP_CERT=""
ARG REQUESTS_CA_BUNDLE=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# Dependencies first (pyproject.toml only), so a source change reuses this layer. The project itself has
# no importable packages ([tool.setuptools] packages = []): installing it installs its dependencies.
COPY pyproject.toml ./
RUN set -eu; \
    [ -n "$PIP_CERT" ] || unset PIP_CERT; \
    [ -n "$REQUESTS_CA_BUNDLE" ] || unset REQUESTS_CA_BUNDLE; \
    /opt/venv/bin/pip install --no-compile --upgrade pip; \
    /opt/venv/bin/pip install --no-compile '.[production]'; \
    rm -rf build *.egg-info; \
    /opt/venv/bin/pip uninstall -y pip; \
    /opt/venv/bin/python -m compileall -q -j 0 /opt/venv/lib
COPY . ./
# Static files, collected once here (an embedded throw-away settings run writes nothing else that stays);
# they land in /app/static, read-only, for a proxy or CDN in front to serve at /static/.
RUN set -eu; \
    GARMAX_DATA_DIR=/tmp/collect /opt/venv/bin/python manage.py collectstatic --noinput -v 0; \
    mv /tmp/collect/static /app/static; \
    rm -rf /tmp/collect; \
    /opt/venv/bin/python -m compileall -q -j 0 /app

# --- runtime: Python, the virtualenv and the source; no pip, compiler or build tools ----------------------
FROM python AS runtime
RUN set -eu; \
    groupadd --system --gid 10001 garmax; \
    useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/garmax --no-create-home \
      --shell /usr/sbin/nologin garmax; \
    install -d -o 10001 -g 10001 -m 0750 /var/lib/garmax
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    GARMAX_DATA_DIR=/var/lib/garmax \
    PORT=8000 \
    WEB_CONCURRENCY=4
WORKDIR /app
USER 10001:10001
# The only writable place the service needs (besides /tmp): celery beat's schedule, and in embedded mode
# the SQLite file, media and broker folders. Mount a volume or an emptyDir here.
VOLUME ["/var/lib/garmax"]
EXPOSE 8000
# Liveness of a web container (/health answers without touching the database), asked as Host: localhost
# (keep it in DJANGO_ALLOWED_HOSTS); worker and beat containers override or disable it (compose.yaml,
# deploy/kubernetes). Readiness is /health/ready.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), headers={'Host': 'localhost'}), timeout=4)"]
# gunicorn binds 0.0.0.0:$PORT with $WEB_CONCURRENCY workers unless GUNICORN_CMD_ARGS says otherwise.
CMD ["gunicorn", "config.wsgi"]
