# The Keukentafel worker image: the package, its system libraries for PDF rendering, the templates.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY keukentafel keukentafel
COPY connectors connectors
COPY flows flows
COPY templates templates
# Installed as users install it (not editable): the templates ship inside the package
# (keukentafel/templates), and pypdf comes with the runtime dependencies.
RUN pip install --no-cache-dir /src && rm -rf /src
WORKDIR /app
# The corporation files the worker serves (KEUKENTAFEL_CONFIG_DIR in docker-compose.yml).
COPY config config
ENV DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
# The worker: register the deployments, then run them from the `keukentafel` work pool
# (docker-compose.yml says the same; needs PREFECT_API_URL and PREFECT_API_AUTH_STRING).
CMD ["sh", "-c", "keukentafel deploy; exec prefect worker start --pool keukentafel --type process"]
