#!/usr/bin/env bash
# taskfarm_netns.sh <bin dir> [static|etcd]: the task farm across three hosts
# (docs/multihost.md). Three network namespaces, alpha, beta and gamma, on one bridge in
# alpha (10.232.0.1, .2, .3), each with its own courierd; the courierds federate, by a
# peer list (static, the default) or through an etcd that runs in alpha (etcd: beta is then
# gone when its lease ends, 2 s after the cut, and back under a new one). The master runs in alpha with no
# worker of its own; two workers run in beta and two in gamma, and its pool finds them
# through the group they join on their hosts. While the farm runs, beta's link is cut (its
# veth set down): alpha's courierd takes beta as gone within host_down_ms, the tasks beta's
# workers held are given to gamma's, and when the link is back beta's workers are in the
# group again. Every task must be counted once and the total match the sieve. Needs root
# and ip(8): exits 77 (skipped) otherwise. Leaves no namespace, veth or file behind.
set -euo pipefail
bin=$1
mode=${2:-static}
if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/ip ]; then
    echo "skipped: network namespaces need root and /usr/sbin/ip"
    exit 77
fi
tag=$$
hosts=(alpha beta gamma)
declare -A ns address
for i in 0 1 2; do
    ns[${hosts[i]}]=courier-farm-$tag-${hosts[i]}
    address[${hosts[i]}]=10.232.0.$((i + 1))
done
work=$(mktemp -d /tmp/courier-farm.XXXXXX)
pids=()
etcd=""
cleanup() {
    for pid in "${pids[@]}" $etcd; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for host in "${hosts[@]}"; do ip netns del "${ns[$host]}" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The network: a bridge in alpha, and a veth pair from it to each of the other two.
for host in "${hosts[@]}"; do
    ip netns add "${ns[$host]}"
    ip -n "${ns[$host]}" link set lo up
done
in_alpha=(ip -n "${ns[alpha]}")
"${in_alpha[@]}" link add "br$tag" type bridge
"${in_alpha[@]}" addr add "${address[alpha]}/24" dev "br$tag"
"${in_alpha[@]}" link set "br$tag" up
for host in beta gamma; do
    near=cf$tag${host:0:1} far=cg$tag${host:0:1}  # alpha's end, the host's end
    ip link add "$near" netns "${ns[alpha]}" type veth peer name "$far" netns "${ns[$host]}"
    "${in_alpha[@]}" link set "$near" master "br$tag" up
    ip -n "${ns[$host]}" addr add "${address[$host]}/24" dev "$far"
    ip -n "${ns[$host]}" link set "$far" up
done

# One cookie for the three hosts; a config and a runtime directory for each.
export COURIER_COOKIE=$work/cookie
head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$COURIER_COOKIE"
chmod 600 "$COURIER_COOKIE"
for host in "${hosts[@]}"; do
    if [ "$mode" = etcd ]; then
        # The lease is 2 s, the least etcd mode takes: beta is gone 2 to 3 s after the cut.
        federation=('mode = "etcd"' "etcd = [\"http://${address[alpha]}:2379\"]" 'host_down_ms = 2000')
    elif [ "$host" = alpha ]; then
        federation=("listen = \"tcp://${address[$host]}:7100\""
                    "peers = [\"tcp://${address[beta]}:7100\", \"tcp://${address[gamma]}:7100\"]"
                    'heartbeat_ms = 100' 'host_down_ms = 600')
    else
        federation=("listen = \"tcp://${address[$host]}:7100\""
                    "peers = [\"tcp://${address[alpha]}:7100\"]" 'heartbeat_ms = 100' 'host_down_ms = 600')
    fi
    mkdir -m 700 "$work/$host"
    printf '%s\n' '[registry]' "host = \"$host\"" "${federation[@]}" \
        '[transport.tcp]' "listen = \"${address[$host]}:0\"" \
        'heartbeat_interval_us = 100000' 'heartbeat_timeout_us = 600000' > "$work/$host.toml"
done
# on HOST COMMAND... &: runs COMMAND in HOST's namespace, with its runtime directory and
# config. The background shell becomes COMMAND (exec), so that $! is its pid.
on() {
    local host=$1
    shift
    exec ip netns exec "${ns[$host]}" env COURIER_RUNTIME_DIR="$work/$host" \
        COURIER_CONFIG="$work/$host.toml" "$@"
}
# members_of HOST: how many of HOST's workers alpha's view of the farm's group holds.
members_of() {
    COURIER_RUNTIME_DIR=$work/alpha "$bin/courier" groups 2>/dev/null |
        awk -v host="$1" '$1 == "taskfarm.workers" { n = gsub("@" host " on ", "") } END { print n + 0 }'
}
# wait_for WHAT COMMAND...: until COMMAND succeeds; fails the test after 20 s.
wait_for() {
    local what=$1
    shift
    for _ in $(seq 400); do
        "$@" && return 0
        sleep 0.05
    done
    echo "not within 20 s: $what" >&2
    exit 1
}
has_members() { [ "$(members_of "$1")" -eq "$2" ]; }
logged() { grep -q "$2" "$work/$1.log"; }
now_ms() { date +%s%3N; }
serves() { [ -S "$work/$1/registry.sock" ]; }

if [ "$mode" = etcd ]; then
    etcd_url=http://${address[alpha]}:2379
    ip netns exec "${ns[alpha]}" etcd --data-dir "$work/etcd" --listen-client-urls "$etcd_url" \
        --advertise-client-urls "$etcd_url" --listen-peer-urls "http://${address[alpha]}:2380" \
        --initial-advertise-peer-urls "http://${address[alpha]}:2380" \
        --initial-cluster "default=http://${address[alpha]}:2380" > "$work/etcd.log" 2>&1 &
    etcd=$!
    etcd_serves() { ip netns exec "${ns[alpha]}" curl -s -o /dev/null "$etcd_url/health"; }
    wait_for "etcd serving in alpha" etcd_serves
fi
for host in "${hosts[@]}"; do
    on "$host" "$bin/courierd" --foreground --idle-exit 0 > "$work/$host.log" 2>&1 &
    pids+=($!)
done
for host in "${hosts[@]}"; do wait_for "$host's courierd serving" serves "$host"; done

for host in beta gamma; do
    for n in 1 2; do
        on "$host" "$bin/taskfarm-worker" --name "taskfarm.worker-${host:0:1}$n" \
            > "$work/worker-$host-$n.log" 2>&1 &
        pids+=($!)
    done
done
wait_for "beta's two workers in alpha's view of the group" has_members beta 2
wait_for "gamma's two workers in alpha's view of the group" has_members gamma 2

# The master, with no worker of its own: its pool hands the tasks to the four.
on alpha timeout 300 "$bin/taskfarm" --workers 0 --tasks 3000 --span 10000 > "$work/master.log" 2>&1 &
master=$!
pids+=($master)
master_busy() { grep -q -E '^taskfarm: [1-9][0-9]*/3000 tasks' "$work/master.log"; }
wait_for "the master's first progress" master_busy

# Cut beta off: alpha's courierd takes it as gone (host_down_ms 600; in etcd mode, when
# beta's lease ends).
cut=$(now_ms)
"${in_alpha[@]}" link set "cf${tag}b" down
wait_for "alpha's courierd taking beta as gone" logged alpha "host 'beta'.* is gone"
echo "beta taken as gone $(($(now_ms) - cut)) ms after the cut"
[ $(($(now_ms) - cut)) -lt 5000 ] || { echo "beta was taken as gone too late" >&2; exit 1; }
wait_for "beta's workers out of the group" has_members beta 0
# Restored: beta's workers are in the group again.
"${in_alpha[@]}" link set "cf${tag}b" up
wait_for "beta's workers back in the group" has_members beta 2

status=0
wait "$master" || status=$?
cat "$work/master.log"
echo "taskfarm exited with $status"
[ "$status" -eq 0 ] || exit 1
# What beta's workers held when the link was cut was given to others.
retried=$(sed -n -E 's/.* ([0-9]+) attempts retried by the pool.*/\1/p' "$work/master.log")
[ "${retried:-0}" -ge 1 ] || { echo "no attempt retried after the cut" >&2; exit 1; }
grep -q -E 'taskfarm.worker-g1=[1-9]' "$work/master.log"

# Stopped cleanly, each host leaves its runtime directory empty.
# The workers first: a node that outlives its courierd would start another.
workers=("${pids[@]:3:4}") courierds=("${pids[@]:0:3}")
kill -TERM "${workers[@]}"
wait "${workers[@]}"
kill -TERM "${courierds[@]}"
wait "${courierds[@]}"
for host in "${hosts[@]}"; do
    left=$(ls -A "$work/$host")
    [ -z "$left" ] || { echo "left behind on $host: $left" >&2; exit 1; }
done
echo "taskfarm_netns ($mode): passed, every runtime directory left empty"
