# Helpers to start throwaway Redis and PostgreSQL servers on free loopback ports.
# Sourced by bin/test and bin/demo; every server started is stopped by stop_servers.

SERVERS_DIR="$(mktemp -d -t caio-servers.XXXXXX)"
chmod 755 "$SERVERS_DIR"
# Servers are recorded in files, not variables: the start functions run inside
# $(...) subshells, whose variables the caller never sees.

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
  echo "$port" >>"$SERVERS_DIR/redis-ports"
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
  local pg_dir="$SERVERS_DIR/pg-$port"
  mkdir -p "$pg_dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$pg_dir"; fi
  as_postgres "$bindir/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync >/dev/null
  as_postgres "$bindir/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/caio"
}

stop_servers() {
  local port data
  if [ -f "$SERVERS_DIR/redis-ports" ]; then
    while read -r port; do
      redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    done <"$SERVERS_DIR/redis-ports"
  fi
  for data in "$SERVERS_DIR"/pg-*/data; do
    [ -d "$data" ] || continue
    as_postgres "$(pg_bindir)/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$SERVERS_DIR"
}

demo_secret_key() {  # DIR: prints the demo's own secret key, made once and kept in DIR/secret_key
  local file="$1/secret_key"
  if [ ! -s "$file" ]; then
    mkdir -p "$1"
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(64))' >"$file.tmp")
    mv "$file.tmp" "$file"
  fi
  cat "$file"
}
