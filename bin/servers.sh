# Helpers to start throwaway Redis and PostgreSQL servers on free loopback ports.
# Sourced by bin/test and bin/demo; every server started is stopped by stop_servers.

SERVERS_DIR="$(mktemp -d -t caio-servers.XXXXXX)"
chmod 755 "$SERVERS_DIR"
STARTED_REDIS_PORTS=()
STARTED_PG_DIR=""

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_redis() {  # prints the URL
  local port
  port="$(free_port)"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$SERVERS_DIR" --pidfile "$SERVERS_DIR/redis-$port.pid" --logfile "$SERVERS_DIR/redis-$port.log" >/dev/null
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  STARTED_REDIS_PORTS+=("$port")
  echo "redis://127.0.0.1:$port/0"
}

pg_bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] || dir="$(dirname "$(command -v initdb)")"
  echo "$dir"
}

as_postgres() {  # initdb refuses to run as root
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {  # prints the URL
  local port bindir
  port="$(free_port)"
  bindir="$(pg_bindir)"
  STARTED_PG_DIR="$SERVERS_DIR/pg"
  mkdir -p "$STARTED_PG_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$STARTED_PG_DIR"
  as_postgres "$bindir/initdb" -D "$STARTED_PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
  as_postgres "$bindir/pg_ctl" -D "$STARTED_PG_DIR/data" -l "$STARTED_PG_DIR/log" -w \
    -o "-p $port -k $STARTED_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/caio"
}

stop_servers() {
  local port
  for port in "${STARTED_REDIS_PORTS[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  if [ -n "$STARTED_PG_DIR" ] && [ -d "$STARTED_PG_DIR/data" ]; then
    as_postgres "$(pg_bindir)/pg_ctl" -D "$STARTED_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$SERVERS_DIR"
}
