#!/usr/bin/env bash
# Installs the servers the test suite needs outside Python: PostgreSQL (Debian's `postgresql`), a Java runtime.
# The tests start their own throw-away clusters (tests/postgres_server.py); the packaged "main"
# cluster is stopped so nothing we don't own listens on 5432. Idempotent; fast when installed.
set -euo pipefail

have_postgres() {
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

if ! have_postgres; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "install_servers.sh: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb)." >&2
        echo "Install them as root, e.g.: sudo apt-get install -y postgresql" >&2
        exit 1
    fi
    echo "install_servers.sh: installing postgresql..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    have_postgres || { echo "install_servers.sh: postgresql installed but initdb still missing" >&2; exit 1; }
fi

# Debian creates and starts a "main" cluster on install; stop every packaged cluster that runs.
if [[ "$(id -u)" -eq 0 ]] && command -v pg_lsclusters >/dev/null 2>&1; then
    while read -r version cluster _port status _rest; do
        if [[ "$status" == online* ]]; then
            pg_ctlcluster "$version" "$cluster" stop -m fast || true
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
fi

echo "install_servers.sh: PostgreSQL $(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1 | cut -d/ -f5) ready."

# A Java runtime for the local Spark the NYC-taxi tests run (tests/doubles/spark.txt): Debian's, Spark 3.5 takes 17.
if ! command -v java >/dev/null 2>&1; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "install_servers.sh: no java on PATH; install a Java 17 runtime, e.g.: sudo apt-get install -y openjdk-17-jre-headless" >&2
        exit 1
    fi
    echo "install_servers.sh: installing openjdk-17-jre-headless..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
echo "install_servers.sh: $(java -version 2>&1 | head -n1) ready."

# The doubles (cloud warehouses, Spark), each in its own virtualenv under .local/doubles/ (their pins clash with the
# project's): rebuilt when tests/doubles/<name>.txt changes. uv comes from the project's virtualenv.
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV="$REPO/.venv/bin/uv"
for requirements in "$REPO"/tests/doubles/*.txt; do
    name="$(basename "$requirements" .txt)"
    venv="$REPO/.local/doubles/$name"
    stamp="$venv/.requirements"
    if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
        echo "install_servers.sh: installing the $name double..."
        rm -rf "$venv"
        "$UV" venv -q --python "$REPO/.venv/bin/python" "$venv"
        "$UV" pip install -q --python "$venv/bin/python" -r "$requirements"
        cp "$requirements" "$stamp"
    fi
done
echo "install_servers.sh: doubles ready: $(ls "$REPO/.local/doubles" | tr '\n' ' ')"
