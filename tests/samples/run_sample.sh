#!/usr/bin/env bash
# run_sample.sh <sample> <bin dir> [transport]: runs a sample against a private registry
# (over the given transport, through COURIER_TRANSPORT) and checks that the registry
# leaves its runtime directory empty afterwards. Samples: hello, pipe_handover,
# producer_consumer (two processes started here), producer_spawns_consumer (the producer
# starts the consumer), consumer_sigterm (a consumer stopped by SIGTERM), consumer_bad_config,
# consumer_dies and producer_dies (one of the two killed with SIGKILL), taskfarm (the main
# demo) and taskfarm_chaos (its workers killed and stopped at random while it runs).
# samples/*/README.md show these commands and their output: change them together.
set -euo pipefail
sample=$1 bin=$2
if [ -n "${3:-}" ]; then export COURIER_TRANSPORT=$3; fi
export COURIER_RUNTIME_DIR COURIER_REGISTRY_IDLE_MS=200
COURIER_RUNTIME_DIR=$(mktemp -d /tmp/courier-sample.XXXXXX)
trap 'rm -rf "$COURIER_RUNTIME_DIR"' EXIT
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
taskfarm)
    timeout 120 "$bin/taskfarm" --workers 3 --tasks 500 --span 2000
    ;;
taskfarm_chaos)
    # The task farm with 4 workers and 10,000 tasks while this loop kills a random worker
    # with SIGKILL every 10 ms (one time in ten it stops one with SIGSTOP for 1.2 s and
    # then continues it), until the master ends. Every result must come exactly once and the
    # total must match the sieve (the master checks both and says "-> OK"), at least 100
    # workers must have been killed, within 10 minutes; nothing may be left behind (the
    # runtime directory, checked below; shared-memory segments of the killed, here).
    "$bin/taskfarm" --workers 4 --tasks 10000 --span 6000 --attempt-timeout-ms 1000 \
        --backoff-max-ms 20 &
    master=$!
    kills=0 stops=0 deadline=$((SECONDS + 600))
    while kill -0 "$master" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
        mapfile -t workers < <(pgrep -P "$master" -x taskfarm-worker || true)
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
    [ "$status" -eq 0 ] && [ "$kills" -ge 100 ] || exit 1
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
for _ in $(seq 100); do
    if [ -z "$(ls -A "$COURIER_RUNTIME_DIR")" ]; then
        echo "run_sample: $sample passed, runtime directory left empty"
        exit 0
    fi
    sleep 0.05
done
echo "left behind in the runtime directory: $(ls -A "$COURIER_RUNTIME_DIR")" >&2
exit 1
