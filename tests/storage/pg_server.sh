#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `pg_server.sh start DIR` runs initdb in a new
# directory under /tmp (as the unprivileged user `nobody` when run as root: initdb refuses root;
# /tmp, so that nobody can reach it wherever the build tree is), starts it on
# 127.0.0.1 on a free port with scram-sha-256 password auth for TCP, and writes the superuser's
# URI to DIR/uri (and the server's directory to DIR/server); `pg_server.sh stop DIR` stops it
# (immediate) and removes both directories; `pg_server.sh restart DIR` restarts it in place (fast
# shutdown: sessions are ended, committed work is kept; the same port and options).
# Without the server binaries, start writes the reason to DIR/skip and exits 0: the tests that
# need the server skip with that reason. The CTest fixture pg_server (tests/storage/CMakeLists.txt)
# runs start before and stop after every test that needs it, also when tests fail.
set -uo pipefail
cmd=${1:?usage: pg_server.sh start|stop|restart DIR}
dir=${2:?usage: pg_server.sh start|stop|restart DIR}

bindir() {
  local b
  for b in "${AC_PG_BINDIR:-}" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -n "$b" ] && [ -x "$b/initdb" ] && [ -x "$b/pg_ctl" ] && { echo "$b"; return; }
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

stop() {
  local b srv
  b=$(bindir)
  srv=$(cat "$dir/server" 2>/dev/null)
  if [ -n "$b" ] && [ -n "$srv" ] && [ -f "$srv/data/postmaster.pid" ]; then
    as_owner "$b/pg_ctl" -D "$srv/data" -m immediate -w stop >/dev/null 2>&1
  fi
  [ -n "$srv" ] && rm -rf "$srv"
  rm -rf "$dir"
}

start() {
  stop
  mkdir -p "$dir"
  local b
  b=$(bindir)
  if [ -z "$b" ]; then
    echo "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql" >"$dir/skip"
    echo "pg_server: $(cat "$dir/skip")"
    return 0
  fi
  local pw srv
  srv=$(mktemp -d /tmp/ac-pg.XXXXXX) || return 1
  echo "$srv" >"$dir/server"
  pw="ac-test-$RANDOM$RANDOM"
  echo "$pw" >"$srv/pwfile"
  [ "$(id -u)" -eq 0 ] && chown -R nobody "$srv"
  if ! as_owner "$b/initdb" -D "$srv/data" -U postgres --pwfile="$srv/pwfile" -A scram-sha-256 \
      --auth-local=trust -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    return 1
  fi
  local port attempt
  for attempt in $(seq 1 20); do
    port=$((20000 + RANDOM % 40000))
    if as_owner "$b/pg_ctl" -D "$srv/data" -l "$srv/server.log" -w -t 30 start \
        -o "-h 127.0.0.1 -p $port -k $srv -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off -c max_connections=100" >/dev/null 2>&1; then
      echo "postgresql://postgres:$pw@127.0.0.1:$port/postgres" >"$dir/uri"
      echo "pg_server: PostgreSQL on 127.0.0.1:$port ($dir)"
      return 0
    fi
  done
  cat "$srv/server.log" >&2
  return 1
}

restart() {
  local b srv
  b=$(bindir)
  srv=$(cat "$dir/server" 2>/dev/null)
  [ -n "$b" ] && [ -n "$srv" ] || { echo "pg_server: no server in $dir" >&2; return 1; }
  as_owner "$b/pg_ctl" -D "$srv/data" -l "$srv/server.log" -m fast -w -t 30 restart >/dev/null
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  *) echo "usage: pg_server.sh start|stop|restart DIR" >&2; exit 2 ;;
esac
