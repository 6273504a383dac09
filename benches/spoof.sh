#!/usr/bin/env bash
# Spoof cost, measured side by side in one run inside a private network namespace (nothing
# outside it is touched): one-shot `macspoof spoof v0` against /usr/bin/true, `ip link set` and
# `macchanger -e`, then `macspoof spoof --all` over many veths, and peak RSS. A measurement, not
# a test. Writes its section of benches/RESULTS.md (between the spoof markers).
# Usage (root): benches/spoof.sh [RESULTS_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-benches/RESULTS.md}")

if [ "${MACSPOOF_BENCH_INNER:-}" != 1 ]; then
    need=()
    for p in hyperfine macchanger time iproute2 python3; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    bin=$(./scripts/build-release)
    exec unshare --net --mount env MACSPOOF_BENCH_INNER=1 MACSPOOF_BENCH_BIN="$bin" "$0" "$out"
fi

bin=$MACSPOOF_BENCH_BIN
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Spoof veths too (they are excluded by default), and log to stderr as without a journal.
printf 'exclude_drivers = []\n' >"$tmp/macspoof.toml"
export MACSPOOF_CONFIG=$tmp/macspoof.toml MACSPOOF_RUN_DIR=$tmp/run
mount -t sysfs sysfs /sys

ip link add v0 type veth peer name v1
# One-shot cost in rounds: the host's speed drifts over seconds (other VMs), and hyperfine runs
# each command's runs in a block, so one long block per command mostly measures the drift. Each
# round runs every command for a short block; the ratios are taken per round.
rounds=${ROUNDS:-20} runs=${RUNS:-60}
names=('/usr/bin/true' 'macspoof spoof v0' 'ip link set v0 address' 'macchanger -e v0')
cmds=('/usr/bin/true' "$bin spoof v0" 'ip link set dev v0 address 00:1b:21:3a:4f:5d' 'macchanger -e v0')
named=()
for i in "${!cmds[@]}"; do named+=(-n "${names[$i]}" "${cmds[$i]}"); done
for r in $(seq 1 "$rounds"); do
    hyperfine -N --warmup 5 --runs "$runs" --export-json "$tmp/one.$r.json" "${named[@]}" \
        >/dev/null 2>&1
done
# Minor page faults of one run each (a large share of start-up on these VMs).
faults=$tmp/faults.txt
for c in "${cmds[@]}"; do
    # shellcheck disable=SC2086
    /usr/bin/time -f %R $c 2>&1 >/dev/null | tail -1
done >"$faults"
rss1=$(/usr/bin/time -f %M "$bin" spoof v0 2>&1 >/dev/null | tail -1)
ip link del v0

scale=$tmp/scale.txt
: >"$scale"
for pairs in 500 1000 2000; do
    for i in $(seq 1 "$pairs"); do echo "link add a$i type veth peer name b$i"; done >"$tmp/add"
    ip -batch "$tmp/add"
    # The kernel's own cost: the same number of address changes from one `ip -batch`.
    for i in $(seq 1 "$pairs"); do
        printf 'link set a%d address 02:00:00:%02x:%02x:01\nlink set b%d address 02:00:00:%02x:%02x:02\n' \
            "$i" $((i / 256)) $((i % 256)) "$i" $((i / 256)) $((i % 256))
    done >"$tmp/set"
    hyperfine -N --warmup 1 --runs 10 --export-json "$tmp/all$pairs.json" \
        -n all "$bin spoof --all" -n batch "ip -batch $tmp/set" >/dev/null 2>&1
    if [ "$pairs" = 2000 ]; then
        rss_all=$(/usr/bin/time -f %M "$bin" spoof --all 2>&1 >/dev/null | tail -1)
    fi
    python3 - "$tmp/all$pairs.json" $((2 * pairs)) >>"$scale" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
print(f"| {n} | {r['all']*1e3:.1f} | {r['all']*1e6/n:.1f} | {r['batch']*1e6/n:.1f} |")
PY
    sed 's/^link add \(a[0-9]*\).*/link del \1/' "$tmp/add" >"$tmp/del"
    ip -batch "$tmp/del"
done

python3 - "$tmp" "$rounds" "$faults" >"$tmp/one.md" <<'PY'
import json, statistics as st, sys
tmp, rounds, faults = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read().split()
rs = [json.load(open(f"{tmp}/one.{r}.json"))["results"] for r in range(1, rounds + 1)]
names = [x["command"] for x in rs[0]]
med = lambda j: [r[j]["median"] for r in rs]
ratio = lambda j, k: [r[j]["median"] / r[k]["median"] for r in rs]
spoof = names.index("macspoof spoof v0")
print("| command | median ms | vs /usr/bin/true (range over rounds) | vs macspoof | minor faults |")
print("|---|---:|---:|---:|---:|")
for j, n in enumerate(names):
    rt = ratio(j, 0)
    print(f"| `{n}` | {st.median(med(j))*1e3:.3f} | {st.median(rt):.2f}x "
          f"({min(rt):.2f}-{max(rt):.2f}) | {st.median(ratio(j, spoof)):.2f}x | {faults[j]} |")
PY

section=$tmp/section.md
{
    echo "<!-- spoof:begin (written by benches/spoof.sh) -->"
    echo "## Spoof cost"
    echo
    echo "$(date -u +%F), kernel $(uname -r), $(nproc) CPUs, binary from scripts/build-release."
    echo "One MAC change per process on a veth in a private namespace: $rounds rounds of hyperfine -N,"
    echo "${runs} runs per command per round. Times are the median of the round medians; ratios are"
    echo "taken within each round (median, and range over the rounds)."
    echo "\`macspoof spoof v0\` looks the link up, reads the permanent address, generates, sets,"
    echo "re-reads the kernel to verify and writes its log entry (stderr here: no journal in the netns)."
    echo
    cat "$tmp/one.md"
    echo
    echo "\`macspoof spoof --all\` over veth pairs (both ends spoofed; 10 runs each; medians). The last"
    echo "column is the kernel's own cost for the same changes from one \`ip -batch\`:"
    echo
    echo "| interfaces | macspoof ms | us per interface | ip -batch us per interface |"
    echo "|---:|---:|---:|---:|"
    cat "$scale"
    echo
    echo "Peak RSS: one-shot \`spoof v0\` ${rss1} KiB; \`spoof --all\` over 4000 interfaces ${rss_all} KiB."
    echo "<!-- spoof:end -->"
} >"$section"
cat "$section"
python3 - "$out" "$section" <<'PY'
import os, re, sys
out, section = sys.argv[1], open(sys.argv[2]).read()
text = open(out).read() if os.path.exists(out) else "# Benchmark results\n\n"
pat = re.compile(r"<!-- spoof:begin.*?<!-- spoof:end -->\n?", re.S)
text = pat.sub(lambda _: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section
open(out, "w").write(text)
PY
