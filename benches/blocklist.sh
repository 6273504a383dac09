#!/usr/bin/env bash
# Blocklist generation over a real Debian kernel module tree (tests/kernel-tree/fetch), against
# the shell ways of listing network modules. A measurement, not a test: results go to
# benches/RESULTS.md by hand. Needs hyperfine (scripts/setup).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(tests/kernel-tree/fetch)
version=$(ls "$root/lib/modules" | sort | tail -1)
kdir=$root/lib/modules/$version
bin=$(./scripts/build-release)

# A hard-linked copy without modules.dep and modules.order, for the walk fallback.
walk=$(mktemp -d "${root%/root}/.bench.XXXXXX")
trap 'rm -rf "$walk"' EXIT
mkdir -p "$walk/lib/modules"
cp -al "$kdir" "$walk/lib/modules/"
rm "$walk/lib/modules/$version/modules.dep" "$walk/lib/modules/$version/modules.order"

echo "kernel $version: $(wc -l < "$kdir/modules.dep") modules, $(find "$kdir/kernel/drivers/net" -name '*.ko*' | wc -l) under drivers/net"
export MACSPOOF_CONFIG=/nonexistent MACSPOOF_RUN_DIR=/nonexistent
json=$walk/hyperfine.json
hyperfine -N --warmup 5 --runs "${RUNS:-100}" --export-json "$json" \
    -n "macspoof generate (modules.dep)" "$bin blocklist generate --root $root --kernel $version" \
    -n "macspoof generate (walk, no index)" "$bin blocklist generate --root $walk --kernel $version" \
    -n "find | xargs -n1 basename" "bash -c \"find $kdir/kernel/drivers/net -name '*.ko*' | xargs -n1 basename\"" \
    -n "find -printf %f" "find $kdir/kernel/drivers/net -name *.ko* -printf %f\\n" \
    -n "/usr/bin/true (spawn floor)" "/usr/bin/true"

# Medians: the machine is noisy, and the ratio measured in one run is what compares.
python3 - "$json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("| command | min ms | median ms | mean ms |")
print("|---|---:|---:|---:|")
for x in r:
    print(f"| {x['command']} | {x['min']*1e3:.1f} | {x['median']*1e3:.1f} | {x['mean']*1e3:.1f} |")
PY
