# Groundswell service image: `docker compose up` builds it (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GROUNDSWELL_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
COPY detectors ./detectors
COPY responders ./responders
RUN pip install --no-cache-dir . \
    && groupadd --system --gid 10001 groundswell \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin groundswell \
    && mkdir /data && chown 10001:10001 /data
# The bundled playbooks; docker-compose.yml mounts ./playbooks over them read-only.
COPY playbooks ./playbooks

# The state and outbox files live here, owned by the service's user: /app stays root's and
# read-only to it. A fresh named volume mounted here copies this ownership.
VOLUME ["/data"]

# Numeric, so Kubernetes' runAsNonRoot can verify it without the image's /etc/passwd.
USER 10001:10001
EXPOSE 9108
# Bind all interfaces inside the container so Prometheus can scrape it; publish with care.
CMD ["groundswell", "run", "--host", "0.0.0.0", "--playbooks", "/app/playbooks"]
