#!/usr/bin/env bash
# Provisions a single-node Apache Kafka broker (KRaft) on 127.0.0.1:9092 from Maven Central.
#
#   scripts/kafka.sh up      download the jars once (cached), format storage once, start, wait until ready
#   scripts/kafka.sh down    stop the broker started by "up"
#   scripts/kafka.sh status  say whether a broker answers
#
# Environment: PYTHON (a Python with kafka-python, for the readiness check; default .venv/bin/python),
# EVENTCRM_CACHE (jar cache, default ~/.cache/eventcrm), KAFKA_STATE_DIR (default .services/kafka).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache=${EVENTCRM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eventcrm}/kafka-$version
state=${KAFKA_STATE_DIR:-$root/.services/kafka}
python=${PYTHON:-$root/.venv/bin/python}
cluster_id=ZXZlbnRjcm0tbG9jYWwtMQ   # fixed: one local cluster, formatted once
ready_timeout=${KAFKA_READY_TIMEOUT:-90}

ready() { "$python" "$here/kafka_ready.py" --timeout "${1:-5}" >/dev/null 2>&1; }

ensure_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

ensure_jars() {
  if [ -f "$cache/libs/.complete" ]; then return; fi
  ensure_tools
  say "resolving Apache Kafka $version from Maven Central into $cache/libs"
  local tmp="$cache/libs.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" -DincludeScope=runtime \
    || die "maven could not resolve the Kafka jars (see above)"
  touch "$tmp/.complete"
  rm -rf "$cache/libs" && mv "$tmp" "$cache/libs"
}

java_args=(-Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true
           -Dlog4j.configuration="file:$here/kafka/log4j.properties" -cp "$cache/libs/*")

up() {
  [ -x "$python" ] || die "$python not found: run 'make venv' first (the readiness check uses kafka-python)"
  if ready 5; then say "Kafka already answering on 127.0.0.1:9092"; return; fi
  if port_open 9092; then die "something on 127.0.0.1:9092 accepts connections but does not answer as Kafka"; fi
  ensure_jars
  mkdir -p "$state"
  sed "s:@DATA_DIR@:$state/data:" "$here/kafka/server.properties.in" > "$state/server.properties"
  if [ ! -f "$state/data/meta.properties" ]; then
    say "formatting KRaft storage in $state/data"
    java "${java_args[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$state/server.properties" \
      > "$state/format.log" 2>&1 || { cat "$state/format.log" >&2; die "storage format failed"; }
  fi
  say "starting Kafka $version (log: $state/kafka.log)"
  # setsid: the broker outlives this script and the make that ran it.
  setsid java "${java_args[@]}" kafka.Kafka "$state/server.properties" > "$state/kafka.log" 2>&1 < /dev/null &
  echo $! > "$state/kafka.pid"
  local deadline=$((SECONDS + ready_timeout))
  until ready 5; do
    if ! kill -0 "$(cat "$state/kafka.pid")" 2>/dev/null; then
      tail -n 60 "$state/kafka.log" >&2; die "Kafka exited while starting"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 60 "$state/kafka.log" >&2; die "Kafka did not answer within ${ready_timeout}s"
    fi
    sleep 1
  done
  say "Kafka ready on 127.0.0.1:9092"
}

down() {
  local pidfile="$state/kafka.pid"
  if [ ! -f "$pidfile" ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "no Kafka started by this project is running"; rm -f "$pidfile"; return
  fi
  local pid; pid=$(cat "$pidfile")
  say "stopping Kafka (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { say "Kafka still running after 30s; killing it"; kill -9 "$pid"; }
  rm -f "$pidfile"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if ready 5; then echo "Kafka: answering on 127.0.0.1:9092"; else echo "Kafka: not answering"; exit 1; fi ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
