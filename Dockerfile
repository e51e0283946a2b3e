# The Keukentafel worker image: the package, its system libraries for PDF rendering, the templates.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY keukentafel keukentafel
COPY connectors connectors
COPY flows flows
COPY templates templates
COPY config config
# Editable: the templates/ and config/ folders are found next to the package, as in a checkout.
RUN pip install --no-cache-dir -e .
ENV DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
CMD ["python", "-m", "flows.deployments"]
