#!/usr/bin/env bash
# Measures one-shot spoof cost and `--all` scaling, side by side in one run, inside a private
# network namespace (nothing outside it is touched). A measurement, not a test: it never fails on
# a slow result. Usage (root): benches/spoof.sh [RESULTS_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benches/RESULTS.md}

if [ "${MACSPOOF_BENCH_INNER:-}" != 1 ]; then
    need=()
    for p in hyperfine macchanger time iproute2; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
    if [ ${#need[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    cargo build --release --locked -q
    exec unshare --net --mount env MACSPOOF_BENCH_INNER=1 "$0" "$@"
fi

bin=$PWD/target/release/macspoof
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'exclude_drivers = []\n' >"$tmp/macspoof.toml"
export MACSPOOF_CONFIG=$tmp/macspoof.toml MACSPOOF_RUN_DIR=$tmp/run
mount -t sysfs sysfs /sys

ip link add v0 type veth peer name v1
one=$tmp/one.md
hyperfine -N --warmup 5 --runs 300 --export-markdown "$one" \
    -n '/usr/bin/true' '/usr/bin/true' \
    -n 'macspoof spoof v0' "$bin spoof v0" \
    -n 'ip link set v0 address (fixed)' 'ip link set dev v0 address 00:1b:21:3a:4f:5d' \
    -n 'macchanger -e v0' 'macchanger -e v0' >/dev/null
ip link del v0

median() { # hyperfine JSON -> median ms of the first command
    python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$1"
}
scale=$tmp/scale.txt
: >"$scale"
for n in 500 1000 2000; do
    for i in $(seq 1 "$n"); do echo "link add a$i type veth peer name b$i"; done >"$tmp/batch"
    ip -batch "$tmp/batch"
    hyperfine -N --warmup 1 --runs 10 --export-json "$tmp/all$n.json" "$bin spoof --all" >/dev/null
    ifaces=$((2 * n))
    ms=$(median "$tmp/all$n.json")
    us=$(python3 -c "print('%.1f' % ($ms*1000/$ifaces))")
    echo "| $ifaces | $ms | $us |" >>"$scale"
    [ "$n" = 2000 ] && rss=$(/usr/bin/time -f %M "$bin" spoof --all 2>&1 >/dev/null | tail -1)
    ip link show | awk -F': ' '/^[0-9]+: a[0-9]+@/ {sub(/@.*/,"",$2); print "link del " $2}' >"$tmp/del"
    ip -batch "$tmp/del"
done
rss1=$(ip link add v0 type veth peer name v1 && /usr/bin/time -f %M "$bin" spoof v0 2>&1 >/dev/null | tail -1)

{
    echo "## Spoof cost ($(date -u +%F), $(uname -r), $(nproc) CPUs; benches/spoof.sh)"
    echo
    echo "One MAC change per process on a veth in a private namespace (hyperfine -N, 300 runs). macspoof"
    echo "reads the link (and its permanent address), generates, sets, re-reads to verify and logs."
    echo
    cat "$one"
    echo
    echo "\`macspoof spoof --all\` over veth pairs (both ends spoofed; 10 runs each; median):"
    echo
    echo "| interfaces | ms | us per interface |"
    echo "|---:|---:|---:|"
    cat "$scale"
    echo
    echo "Peak RSS: one-shot \`spoof v0\` ${rss1} KiB; \`spoof --all\` over 4000 interfaces ${rss} KiB."
    echo
} >"$tmp/section.md"
cat "$tmp/section.md"
if [ -f "$out" ]; then cat "$tmp/section.md" >>"$out"; else { echo "# Benchmark results"; echo; cat "$tmp/section.md"; } >"$out"; fi
