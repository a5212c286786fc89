# One image for the code server, the webserver and the daemon (the command picks which).
# First version; the deployment issue adds the production instance config and compose/systemd files.

FROM python:3.11-slim AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir uv==0.13.8 \
    && /opt/venv/bin/uv pip sync --python /opt/venv/bin/python --compile-bytecode requirements.lock
COPY pyproject.toml workspace.yaml ./
COPY pipeline ./pipeline
COPY dbt_project ./dbt_project
# dagster-dbt builds the asset graph from the manifest: parse once, at build time, with no connection.
RUN DUCKDB_PATH=/tmp/parse.duckdb /opt/venv/bin/python -m pipeline prepare \
    && rm -rf dbt_project/logs

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DAGSTER_HOME=/opt/dagster/home SPARKIFY_DATA_URI=/data/lake DUCKDB_PATH=/data/warehouse.duckdb \
    DUCKDB_EXTENSION_DIR=/data/duckdb_extensions
RUN useradd --create-home --uid 10001 dagster \
    && mkdir -p /opt/dagster/home /data \
    && chown -R dagster:dagster /opt/dagster /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=dagster:dagster /app /app
WORKDIR /app
USER dagster
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "pipeline.definitions"]
