#!/usr/bin/env bash
# run_sample.sh <sample> <bin dir> [transport]: runs a sample against a private registry
# (over the given transport, through COURIER_TRANSPORT) and checks that the registry
# leaves its runtime directory empty afterwards. Samples: hello, pipe_handover,
# producer_consumer (two processes started here), producer_spawns_consumer (the producer
# starts the consumer), federation and federation_etcd (the two on two federated "hosts",
# by a peer list and through etcd: docs/multihost.md),
# consumer_sigterm (a consumer stopped by SIGTERM), consumer_bad_config,
# consumer_dies and producer_dies (one of the two killed with SIGKILL), taskfarm (the main
# demo), taskfarm_chaos (its workers killed and stopped at random while it runs), and
# prefork_httpd, prefork_httpd_load and prefork_httpd_kill (the web server with curl, under
# wrk, and with a worker killed under wrk), pc_pool (M producers, K consumers, a pool),
# pipeline and pipeline_backpressure (three stages; a slow last one holding back the first).
# samples/*/README.md show these commands and their output: change them together.
set -euo pipefail
sample=$1 bin=$2
if [ -n "${3:-}" ]; then export COURIER_TRANSPORT=$3; fi
export COURIER_RUNTIME_DIR COURIER_REGISTRY_IDLE_MS=200
COURIER_RUNTIME_DIR=$(mktemp -d /tmp/courier-sample.XXXXXX)
trap 'rm -rf "$COURIER_RUNTIME_DIR"' EXIT
# members_for_ms MS: sets `workers` to the pids of the task farm's workers that have been
# in its group for MS milliseconds or more, as `courier groups` shows them (`first_seen`
# keeps when each pid was first seen there: called in this shell, not a subshell).
declare -A first_seen
workers=()
members_for_ms() {
    local now pid
    now=$(date +%s%3N)
    workers=()
    for pid in $("$bin/courier" groups 2>/dev/null |
                 awk '$1 == "taskfarm.workers" { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { sub(/,/, "", $i); print $i } }'); do
        [ -n "${first_seen[$pid]:-}" ] || first_seen[$pid]=$now
        if [ $((now - first_seen[$pid])) -ge "$1" ]; then workers+=("$pid"); fi
    done
}
# hosts_left_empty DIR HOST...: waits until each host's runtime directory DIR/HOST holds
# nothing but courierd's log, as the registry's must be left; then removes it.
hosts_left_empty() {
    local dir=$1 host
    shift
    for host in "$@"; do
        for _ in $(seq 100); do
            [ -z "$(ls -A "$dir/$host" | grep -v -x -E 'courierd(\.1)?\.log')" ] && break
            sleep 0.05
        done
        [ -z "$(ls -A "$dir/$host" | grep -v -x -E 'courierd(\.1)?\.log')" ] ||
            { echo "left behind on $host: $(ls -A "$dir/$host")" >&2; exit 1; }
        rm -rf "${dir:?}/$host"
    done
}
# alpha_sends_to_beta DIR: the federation walkthroughs' run: the consumer on beta, the
# producer on alpha sending to consumer@beta, each with DIR/HOST as its runtime directory
# and DIR/HOST.toml as its config; then both directories must be left empty.
alpha_sends_to_beta() {
    local dir=$1 consumer
    COURIER_RUNTIME_DIR=$dir/beta COURIER_CONFIG=$dir/beta.toml \
        timeout 60 "$bin/consumer" --count 20000 --size 100 &
    consumer=$!
    COURIER_RUNTIME_DIR=$dir/alpha COURIER_CONFIG=$dir/alpha.toml \
        timeout 60 "$bin/producer" --count 20000 --size 100 --to consumer@beta
    wait "$consumer"
    hosts_left_empty "$dir" alpha beta
}
# registered NODE NAME: waits until `courier ps` lists NAME among NODE's names (a field
# of its own: endpoints hold node names only inside URIs); fails after 10 s.
registered() {
    for _ in $(seq 200); do
        "$bin/courier" ps 2>/dev/null | awk -v node="$1" -v name="$2" '
            $1 == node { for (i = 3; i <= NF; i++) if ($i == name || $i == name ",") found = 1 }
            END { exit !found }' && return 0
        sleep 0.05
    done
    echo "no name '$2' in node '$1' within 10 s" >&2
    return 1
}
# For the prefork_httpd cases: a served root with known files; the server started on a
# free port of 127.0.0.1 (its output in $log) and, at the end, stopped by SIGTERM, which
# must end it with 0. Sets $master, $port, $url, $www.
httpd_start() {
    www=$(mktemp -d /tmp/prefork_httpd-www.XXXXXX)
    log=$www.log
    trap 'kill -KILL "${master:-}" 2>/dev/null || true; rm -rf "$COURIER_RUNTIME_DIR" "$www" "$www".*' EXIT
    printf 'hello from prefork_httpd\n' > "$www/hello.txt"
    printf '<h1>index</h1>\n' > "$www/index.html"
    head -c 100000 /dev/urandom > "$www/blob.bin"
    printf 'secret\n' > "$www.secret"  # beside the root: never to be served
    "$bin/prefork_httpd" --workers 4 --root "$www" > "$log" 2>&1 &
    master=$!
    for _ in $(seq 200); do
        grep -q "all 4 workers up" "$log" && break
        sleep 0.05
    done
    port=$(sed -n 's/^prefork_httpd: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$log")
    if [ -z "$port" ] || ! grep -q "all 4 workers up" "$log"; then
        cat "$log"
        echo "prefork_httpd did not listen with 4 workers up within 10 s" >&2
        return 1
    fi
    url=http://127.0.0.1:$port
    echo "prefork_httpd listens on 127.0.0.1:$port"
}
httpd_stop() {
    kill -TERM "$master"
    local status=0
    wait "$master" || status=$?
    master=
    cat "$log"
    echo "prefork_httpd exited with $status"
    [ "$status" -eq 0 ]
}
# http_code ARGS...: the status code curl gets.
http_code() {
    curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$@"
}
# raw_exchange BYTES: sends BYTES (a printf format) on a connection of its own, without
# curl's manners, and prints what comes back until the server closes it (or 5 s pass),
# CRs removed. raw_status BYTES: only the status lines of that.
raw_exchange() {
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf "$1" >&3
    timeout 5 cat <&3 | tr -d '\r' || true
    exec 3<&-
}
raw_status() {
    raw_exchange "$1" | grep '^HTTP/' || true
}
# worker_rows: the rows of /stats, one per worker: name pid open connections requests restarts.
worker_rows() {
    curl -sS --max-time 5 "$url/stats" | grep '^httpd\.worker-'
}
# wrk_failures FILE: the connections wrk saw fail (socket errors of every kind) plus the
# responses that were not 2xx or 3xx. (wrk runs with --timeout 10s: its default of 2 s
# counts an answer slowed by a busy machine as a socket error, though it arrives whole.)
wrk_failures() {
    awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
         /Non-2xx or 3xx responses:/ { n += $5 }
         END { print n + 0 }' "$1"
}
case $sample in
hello)
    timeout 30 "$bin/hello"
    ;;
pipe_handover)
    timeout 30 "$bin/pipe_handover"
    ;;
producer_consumer)
    timeout 60 "$bin/consumer" --count 20000 --size 100 &
    consumer=$!
    timeout 60 "$bin/producer" --count 20000 --size 100
    wait "$consumer"
    ;;
producer_spawns_consumer)
    timeout 60 "$bin/producer" --count 20000 --size 100 --spawn-consumer "$bin/consumer"
    ;;
federation)
    # docs/multihost.md's walkthrough: two "hosts" on loopback, each a runtime directory
    # with a courierd of its own, federated by their configs; the producer on alpha sends
    # to consumer@beta. Each host's directory must be left empty, like the registry's.
    fed=$COURIER_RUNTIME_DIR
    printf '%s\n' '[registry]' 'host = "alpha"' 'listen = "tcp://127.0.0.1:7101"' \
        'peers = ["tcp://127.0.0.1:7102"]' '[transport.tcp]' 'listen = "127.0.0.1:0"' \
        > "$fed/alpha.toml"
    sed -e 's/alpha/beta/' -e 's/7101/7103/; s/7102/7101/; s/7103/7102/' "$fed/alpha.toml" > "$fed/beta.toml"
    alpha_sends_to_beta "$fed"
    rm -f "$fed/alpha.toml" "$fed/beta.toml"
    ;;
federation_etcd)
    # docs/multihost.md's etcd walkthrough: the same two hosts, which find each other's
    # names in an etcd of their own instead of a peer list.
    fed=$COURIER_RUNTIME_DIR
    etcd --data-dir "$fed/etcd" --listen-client-urls http://127.0.0.1:12379 \
        --advertise-client-urls http://127.0.0.1:12379 --listen-peer-urls http://127.0.0.1:12380 \
        --initial-advertise-peer-urls http://127.0.0.1:12380 \
        --initial-cluster default=http://127.0.0.1:12380 > "$fed/etcd.log" 2>&1 &
    etcd=$!
    # (set -e holds in the trap too: an etcd already gone must not stop it.)
    trap 'kill -9 $etcd 2>/dev/null || true; rm -rf "$COURIER_RUNTIME_DIR"' EXIT
    printf '%s\n' '[registry]' 'host = "alpha"' 'mode = "etcd"' 'etcd = ["http://127.0.0.1:12379"]' \
        '[transport.tcp]' 'listen = "127.0.0.1:0"' > "$fed/alpha.toml"
    sed 's/alpha/beta/' "$fed/alpha.toml" > "$fed/beta.toml"
    alpha_sends_to_beta "$fed"
    kill "$etcd"
    wait "$etcd" || true
    rm -rf "${fed:?}/etcd" "$fed/etcd.log" "$fed/alpha.toml" "$fed/beta.toml"
    ;;
consumer_sigterm)
    # A consumer that no producer ever feeds, stopped by SIGTERM (as systemd or docker
    # stop it): it must stop cleanly and exit 0.
    timeout 60 "$bin/consumer" &
    consumer=$!
    registered consumer-node consumer
    kill -TERM "$consumer"  # timeout passes it on to the consumer
    status=0
    wait "$consumer" || status=$?
    echo "consumer exited with $status after SIGTERM"
    [ "$status" -eq 0 ] || exit 1
    ;;
consumer_dies)
    # The consumer killed while the producer sends: the producer says so and exits 3.
    # (The one to kill runs without timeout(1), so that $! is its own pid.)
    "$bin/consumer" > /dev/null &
    consumer=$!
    timeout 60 "$bin/producer" --count 100000000 --size 16 &
    producer=$!
    # Its actor "producer" is registered once the consumer is there and monitored.
    registered producer producer
    kill -KILL "$consumer"
    status=0
    wait "$producer" || status=$?
    echo "producer exited with $status when its consumer was killed"
    [ "$status" -eq 3 ] || exit 1
    ;;
producer_dies)
    # The producer killed while it sends: the consumer says so and exits 3.
    timeout 60 "$bin/consumer" &
    consumer=$!
    "$bin/producer" --count 100000000 --size 16 > /dev/null &
    producer=$!
    # Once the actor "producer" is registered the consumer learns it (Up) and monitors it:
    # a kill before the monitor is set makes the monitor's Down come at once.
    registered producer producer
    kill -KILL "$producer"
    status=0
    wait "$consumer" || status=$?
    echo "consumer exited with $status when its producer was killed"
    [ "$status" -eq 3 ] || exit 1
    ;;
pc_pool)
    # pc-launcher: 3 producers and 2 consumers with a pool between them. Beside the
    # launcher's own verdict, the consumers' own lines must add up to every item, and
    # each producer must have had all of its items answered.
    out=$(timeout 120 "$bin/pc-launcher" --producers 3 --consumers 2 --count 20000)
    echo "$out"
    took=$(awk '/^consumer-[0-9]+: took [0-9]+ items/ { n += $3 } END { print n + 0 }' <<< "$out")
    answered=$(grep -c '^producer-[0-9]: sent 20000 items .*; 20000 answered with their checksum$' <<< "$out" || true)
    echo "the consumers say they took $took items; $answered producers had all 20000 answered"
    [ "$took" -eq 60000 ] && [ "$answered" -eq 3 ] || exit 1
    ;;
pipeline)
    # generate | filter | count with their defaults: the count's line is checked exactly.
    timeout 60 "$bin/pipeline-generate" --count 20000 --size 100
    ;;
pipeline_backpressure)
    # 100 MB of records (100,000 of 1000 B) down the pipeline, half of them kept, into a
    # count that sleeps 50 us a record. courier's credit (a window of 4096 letters and
    # 4 MiB a link) must hold the generator back and bound every stage's memory:
    # - when the generator has sent its last record, the records count has not taken yet
    #   are in the two links' windows and in the outboxes of generate and filter (a turn,
    #   64 letters, each): at most 2 * 4096 + 3 * 64 (the last 64: count reads the clock
    #   every 64 records). Unpaced, the generator would finish long before count, which
    #   takes about 5 s over its ~50,000.
    # - no mailbox holds more than a window of records, and each stage's peak resident
    #   memory (VmHWM, read by the stage at its end) stays under 64 MiB, where buffering
    #   the input would take 100 MB: a courier process is about 9 MiB, a window 4 MiB, and
    #   glibc's malloc keeps freed blocks in an arena per thread (measured: 20 to 30 MiB
    #   here; the filter's grows to 40 MiB over 1,000,000 records, and no further).
    out=$(timeout 300 "$bin/pipeline-generate" --count 100000 --size 1000 \
        "$bin/pipeline-filter" --keep 50 "$bin/pipeline-count" --slow-us 50)
    echo "$out"
    read -r then total < <(awk '/^count: when the generator finished/ { print $9, $11 }' <<< "$out")
    echo "count had taken $then of $total records when the generator finished; at most $((2 * 4096 + 3 * 64)) may be left"
    [ "$total" -ge 40000 ] && [ $((total - then)) -le $((2 * 4096 + 3 * 64)) ] || exit 1
    peaks=$(awk '/^(generate|filter|count): peak memory/ { print $1, $4 }' <<< "$out")
    echo "peak memory (MiB):" $peaks
    [ "$(wc -l <<< "$peaks")" -eq 3 ] || exit 1
    if [ -n "${COURIER_SANITIZED:-}" ]; then
        echo "a sanitized build: its resident memory is mostly the sanitizer's, not bounded here"
    else
        awk '$2 >= 64 { exit 1 }' <<< "$peaks" || { echo "a stage used 64 MiB or more" >&2; exit 1; }
    fi
    # What bounds it: no mailbox held more records than a link's window.
    held=$(awk '/its mailbox held at most/ { print $NF == "records" ? $(NF - 1) : 0 }' <<< "$out")
    echo "most records in a mailbox:" $held
    [ "$(wc -l <<< "$held")" -eq 2 ] || exit 1
    awk '$1 > 4096 { exit 1 }' <<< "$held" || { echo "a mailbox held more than 4096" >&2; exit 1; }
    ;;
taskfarm)
    timeout 120 "$bin/taskfarm" --workers 3 --tasks 500 --span 2000
    ;;
taskfarm_chaos)
    # The task farm with 4 workers while this loop kills a random worker that has been in
    # the farm's group 200 ms with SIGKILL every 10 ms (one time in ten it stops one with
    # SIGSTOP for 1.2 s and then continues it), until 100 have been killed; then SIGUSR1
    # tells the farm to hand out no more tasks and finish those it has. Every result must
    # come exactly once and the total must match the sieve (the master checks both and
    # says "-> OK"), within 10 minutes; nothing may be left behind (the runtime directory,
    # checked below; shared-memory segments of the killed, here). The farm's length is the
    # kills', not a number of tasks: however fast or slow this machine kills.
    # A sanitized build starts a worker several times slower, and its supervisor restarts
    # one at a time: there the run is about memory errors under the same chaos, and 20
    # kills are enough.
    need=100
    if [ -n "${COURIER_SANITIZED:-}" ]; then need=20; fi
    "$bin/taskfarm" --workers 4 --tasks 1000000 --span 12000 --attempt-timeout-ms 1000 \
        --backoff-max-ms 20 &
    master=$!
    kills=0 stops=0 told=0 deadline=$((SECONDS + 600))
    while kill -0 "$master" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        if [ "$kills" -ge "$need" ]; then
            [ "$told" -eq 1 ] || { kill -USR1 "$master"; told=1; }
            sleep 0.05
            continue
        fi
        # Only workers in the group for 200 ms or more: each takes some tasks before it
        # dies, so the farm moves on however slowly a worker starts (much slower under ASan).
        members_for_ms 200
        if [ "${#workers[@]}" -gt 0 ]; then
            victim=${workers[RANDOM % ${#workers[@]}]}
            if [ $((RANDOM % 10)) -eq 0 ]; then
                # Stopped longer than the pool waits for an answer: its task goes to
                # another worker, and its own late answer must not count.
                kill -STOP "$victim" 2>/dev/null && stops=$((stops + 1))
                (sleep 1.2; kill -CONT "$victim" 2>/dev/null || true) &
            elif kill -KILL "$victim" 2>/dev/null; then
                kills=$((kills + 1))
            fi
        fi
        sleep 0.01
    done
    if kill -0 "$master" 2>/dev/null; then
        echo "the task farm did not finish within 10 minutes" >&2
        kill -KILL "$master"
        exit 1
    fi
    status=0
    wait "$master" || status=$?
    wait  # the SIGCONTs still on their way
    echo "taskfarm exited with $status after $kills SIGKILLs and $stops SIGSTOPs"
    [ "$status" -eq 0 ] && [ "$told" -eq 1 ] ||
        { echo "the farm ended before $need kills" >&2; exit 1; }
    for segment in /dev/shm/courier.*.taskfarm*; do
        [ -e "$segment" ] || continue
        pid=${segment#/dev/shm/courier.}
        pid=${pid%%.*}
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "left behind: $segment" >&2
            exit 1
        fi
    done
    ;;
prefork_httpd)
    # curl and raw bytes against the server: contents, HEAD, keep-alive, 404, traversal,
    # /stats, a malformed request and a huge head, after which every worker still serves.
    httpd_start
    [ "$(curl -sS --max-time 5 "$url/hello.txt")" = "hello from prefork_httpd" ]
    curl -sS --max-time 5 -o "$www.got" "$url/blob.bin"
    cmp "$www.got" "$www/blob.bin"
    [ "$(curl -sS --max-time 5 "$url/")" = "<h1>index</h1>" ]
    echo "GET: exact contents of hello.txt, blob.bin (100000 random bytes) and / (index.html)"
    head=$(curl -sS --max-time 5 -I "$url/hello.txt" | tr -d '\r')
    grep -q '^HTTP/1.1 200 OK$' <<<"$head"
    grep -q '^Content-Length: 25$' <<<"$head"
    grep -q '^Content-Type: text/plain; charset=utf-8$' <<<"$head"
    head=$(raw_exchange 'HEAD /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    grep -q '^Content-Length: 25$' <<<"$head"
    if grep -q 'hello from' <<<"$head"; then exit 1; fi  # (a `!` would not stop set -e)
    echo "HEAD: 200, Content-Length: 25, text/plain, no body"
    reused=$(curl -sS -v --max-time 5 "$url/hello.txt" "$url/index.html" 2>&1 >/dev/null |
             grep -c 'Re-using existing connection' || true)
    [ "$reused" -ge 1 ]
    closed=$(curl -sS -i --max-time 5 -H 'Connection: close' "$url/hello.txt" | tr -d '\r')
    grep -q '^Connection: close$' <<<"$closed"
    pipelined=$(raw_status 'GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    [ "$pipelined" = "$(printf 'HTTP/1.1 200 OK\nHTTP/1.1 404 Not Found')" ]
    echo "keep-alive: curl reused its connection; Connection: close honoured; 2 pipelined requests answered in order"
    [ "$(http_code "$url/missing.txt")" = 404 ]
    echo "GET /missing.txt: 404"
    for target in "/../$(basename "$www").secret" /%2e%2e/etc/passwd /a/../../etc/passwd; do
        code=$(http_code --path-as-is "$url$target")
        echo "GET $target: $code"
        [ "$code" = 400 ] || [ "$code" = 404 ]
    done
    stats=$(curl -sS --max-time 5 "$url/stats")
    echo "$stats"
    [ "$(grep -c '^httpd\.worker-' <<<"$stats")" -eq 4 ]
    malformed=$(raw_status 'GARBAGE\r\n\r\n')
    echo "malformed request: $malformed"
    [ "$malformed" = "HTTP/1.1 400 Bad Request" ]
    big=$(head -c 16384 /dev/zero | tr '\0' x)
    huge=$(raw_status "GET / HTTP/1.1\r\nHost: t\r\nX-Big: $big\r\n\r\n")
    echo "16 KiB header: $huge"
    [ "$huge" = "HTTP/1.1 413 Content Too Large" ]
    for _ in 1 2 3 4 5 6 7 8; do
        [ "$(curl -sS --max-time 5 "$url/hello.txt")" = "hello from prefork_httpd" ]
    done
    rows=$(worker_rows)
    echo "$rows"
    [ "$(awk '$2 != "down" && $6 == 0' <<<"$rows" | wc -l)" -eq 4 ]
    if grep -q ' left (' "$log"; then exit 1; fi
    echo "after them, 8 GETs answered; 4 workers up, none restarted"
    httpd_stop
    ;;
prefork_httpd_load)
    # wrk: more than 20,000 requests over 100 keep-alive connections, not one failed, and
    # every worker served some.
    httpd_start
    timeout 60 wrk -t2 -c100 -d10s --timeout 10s "$url/hello.txt" > "$www.wrk"
    cat "$www.wrk"
    requests=$(awk '/requests in/ { print $1 }' "$www.wrk")
    failures=$(wrk_failures "$www.wrk")
    echo "wrk: $requests requests, $failures failed, $(awk '/Requests\/sec/ { print $2 }' "$www.wrk") requests/s"
    [ "$requests" -ge 20000 ] || exit 1
    [ "$failures" -eq 0 ]
    # wrk's connections close as it ends; their requests count once the master hears so
    # (the connection that asks for /stats is the one left open).
    for _ in $(seq 100); do
        rows=$(worker_rows)
        [ "$(awk '$5 > 0' <<<"$rows" | wc -l)" -eq 4 ] &&
            [ "$(awk '{ n += $3 } END { print n }' <<<"$rows")" -le 1 ] && break
        sleep 0.05
    done
    echo "$rows"
    [ "$(awk '$5 > 0' <<<"$rows" | wc -l)" -eq 4 ]
    echo "every worker served some: $(awk '{ printf "%s=%s ", $1, $5 }' <<<"$rows")"
    httpd_stop
    ;;
prefork_httpd_kill)
    # A worker killed with SIGKILL while wrk runs: only its connections fail, requests
    # after the kill succeed, and the supervisor starts it again.
    httpd_start
    timeout 60 wrk -t2 -c100 -d8s --timeout 10s "$url/hello.txt" > "$www.wrk" &
    load=$!
    sleep 3
    mapfile -t workers < <(pgrep -P "$master" -f prefork_httpd-worker)
    victim=${workers[RANDOM % ${#workers[@]}]}
    kill -KILL "$victim"
    echo "killed worker pid $victim under load"
    sleep 0.5
    for _ in $(seq 20); do
        [ "$(curl -sS --max-time 5 "$url/hello.txt")" = "hello from prefork_httpd" ]
    done
    echo "20 GETs after the kill, under load: all answered"
    wait "$load"
    cat "$www.wrk"
    held=$(sed -n "s/.*(pid $victim) left (node exited) holding \([0-9]*\) open connections/\1/p" "$log")
    failures=$(wrk_failures "$www.wrk")
    requests=$(awk '/requests in/ { print $1 }' "$www.wrk")
    echo "wrk: $requests requests, $failures failed connections; the killed worker held $held"
    [ -n "$held" ] || exit 1
    [ "$failures" -le "$held" ]
    for _ in $(seq 100); do
        rows=$(worker_rows)
        [ "$(awk '$2 != "down"' <<<"$rows" | wc -l)" -eq 4 ] && break
        sleep 0.05
    done
    echo "$rows"
    [ "$(awk '$2 != "down"' <<<"$rows" | wc -l)" -eq 4 ]
    [ "$(awk '{ n += $6 } END { print n }' <<<"$rows")" -ge 1 ]
    echo "the supervisor restarted the killed worker: 4 workers up"
    httpd_stop
    ;;
consumer_bad_config)
    # A config that cannot be read: the reason on stderr and exit 2, never an abort.
    status=0
    timeout 60 "$bin/consumer" --config "$COURIER_RUNTIME_DIR/missing.toml" || status=$?
    echo "consumer exited with $status on a missing config"
    [ "$status" -eq 2 ] || exit 1
    ;;
esac
# courierd exits once idle and must take its socket and lock with it.
# The last line says all went well: the tests' expected output ends with it, because
# ctest's PASS_REGULAR_EXPRESSION alone would ignore this script's exit status.
# courierd's own log (courierd.log, where no syslog listens) is meant to stay.
left() { ls -A "$COURIER_RUNTIME_DIR" | grep -v -x -E 'courierd(\.1)?\.log' || true; }
for _ in $(seq 100); do
    if [ -z "$(left)" ]; then
        echo "run_sample: $sample passed, runtime directory left empty"
        exit 0
    fi
    sleep 0.05
done
echo "left behind in the runtime directory: $(left)" >&2
exit 1
