# The shinsa operation service (`shinsa serve`) as a container image; the same image runs a
# site's worker (`shinsa worker --site NAME`, docs/sites.md; deploy/compose.yaml).
#
#   docker build -t shinsa .
#   docker run -d --name shinsa -p 8443:8443 \
#     -v shinsa-data:/var/lib/shinsa -v /etc/shinsa/tls:/etc/shinsa/tls:ro shinsa
#   docker exec -it shinsa shinsa user add alice --role admin
#
# The database is SHINSA_DB (an embedded SQLite file in the volume by default; set
# SHINSA_DB=postgresql://USER@HOST/DB for a central one, the password in ~/.pgpass or
# PGPASSWORD, never in the URL of a process list). `shinsa serve` upgrades it at start.
# TLS from the mounted certificate files (docs/operation.md); the service refuses to listen
# on a non-loopback address without them. It runs as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/shinsa
COPY pyproject.toml README.md LICENSE ./
COPY scanner ./scanner
COPY probes ./probes
COPY reports ./reports
COPY profiles ./profiles
COPY lab ./lab
RUN pip install ".[service,sites]" \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/shinsa --shell /usr/sbin/nologin shinsa \
    && mkdir -p /var/lib/shinsa /etc/shinsa/tls \
    && chown shinsa:shinsa /var/lib/shinsa

ENV SHINSA_DB=sqlite:////var/lib/shinsa/shinsa.sqlite \
    SHINSA_DATA=/var/lib/shinsa/runs \
    SHINSA_LISTEN=0.0.0.0:8443 \
    SHINSA_TLS_CERT=/etc/shinsa/tls/cert.pem \
    SHINSA_TLS_KEY=/etc/shinsa/tls/key.pem \
    HOME=/var/lib/shinsa

USER shinsa
VOLUME ["/var/lib/shinsa"]
EXPOSE 8443
ENTRYPOINT ["shinsa", "serve"]
