# One image for the code server, the webserver and the daemon; the command picks which
# (deploy/docker-compose.yaml). Build from the repository root: `docker build -t sparkify-pipeline .`
# tests/deploy/test_deploy_files.py lints this file.

FROM python:3.11-slim-bookworm AS build
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false
WORKDIR /app
# Dependencies before the code, so this layer is rebuilt only when the lock changes. Wheels only, each
# checked against its hash in the lock; `uv pip sync` also removes uv, so the venv holds the lock exactly.
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir uv==0.13.8 \
    && /opt/venv/bin/uv pip sync --no-cache --require-hashes --only-binary :all: \
        --python /opt/venv/bin/python --compile-bytecode requirements.lock
COPY pyproject.toml ./
COPY pipeline ./pipeline
COPY dbt_project ./dbt_project
# dagster-dbt builds the asset graph from dbt's manifest: parse it here, once, with no connection (the
# DuckDB target; no database is opened), as `make` does locally. The parse log is not shipped.
RUN PATH=/opt/venv/bin:$PATH PYTHONPATH=/app DUCKDB_PATH=/tmp/parse.duckdb \
    python -m pipeline prepare \
    && rm -rf dbt_project/logs dbt_project/target/dbt.log

FROM python:3.11-slim-bookworm
# tini runs as PID 1 and passes a stop signal to the whole process group (-g): the code server's run
# workers get it too and fail their runs as interrupted, which run_retries re-runs, instead of being
# killed unannounced and left STARTED.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 dagster \
    && useradd --system --no-log-init --uid 10001 --gid dagster --home-dir /opt/dagster --shell /usr/sbin/nologin dagster \
    && mkdir -p /opt/dagster/home/compute_logs /var/lib/sparkify \
    && chown -R dagster:dagster /opt/dagster /var/lib/sparkify
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DAGSTER_HOME=/opt/dagster/home DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    SPARKIFY_DATA_URI=/var/lib/sparkify/lake DUCKDB_PATH=/var/lib/sparkify/warehouse.duckdb \
    DUCKDB_EXTENSION_DIR=/var/lib/sparkify/duckdb_extensions
COPY --from=build /opt/venv /opt/venv
# The code belongs to root: the dagster user may write only where dbt writes (target/, logs/).
COPY --from=build /app /app
COPY --from=build --chown=dagster:dagster /app/dbt_project/target /app/dbt_project/target
RUN install -d -o dagster -g dagster /app/dbt_project/logs
COPY deploy/dagster.yaml /opt/dagster/home/dagster.yaml
COPY deploy/workspace.yaml deploy/workspace.local-grpc.yaml /app/deploy/
# The EC2 host copies its compose file and unit out of the image at each start (deploy/cloudformation/host.yaml),
# so the image it pulls and the files that run it are always of one commit; the ECS services start through
# ecs-entrypoint.sh with dagster.ecs.yaml's run launcher (deploy/cloudformation/ecs-service.yaml).
COPY deploy/docker-compose.yaml deploy/dagster.ecs.yaml deploy/ecs-entrypoint.sh /app/deploy/
COPY deploy/systemd/data-platform-compose.service /app/deploy/systemd/
WORKDIR /app
USER 10001:10001
EXPOSE 4000 3000
STOPSIGNAL SIGINT
# The code server's check; the compose file gives the webserver and the daemon their own.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]
ENTRYPOINT ["tini", "-g", "--"]
# The code server, after failing the runs whose workers died with the previous container (killed at
# the end of the stop grace period, power loss, OOM): pipeline/lib/orphaned_runs.py. One code server per
# location, as on the EC2 host; a platform running replicas of it must drop the first command.
CMD ["sh", "-c", "python -m pipeline fail-orphaned-runs --location data_platform && exec dagster code-server start -h 0.0.0.0 -p 4000 -m pipeline.definitions"]
