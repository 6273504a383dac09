#!/usr/bin/env bash
# Package test: build the .deb, lintian it, check the man pages, then install, reinstall and
# purge it in a fresh Debian bookworm chroot with no systemd and no udev running.
# Run by tests/package.rs (root only). Every failed check exits non-zero with "FAIL: ...".
#
# The chroot comes from debootstrap, with the mirror read from the host's apt configuration;
# the tarball is cached under tests/package/cache/ keyed by everything that goes into it.
# Nothing runs on the host's network or services: the chroot gets a policy-rc.d that forbids
# starting services, /proc and /sys are mounted only inside a private mount namespace (and a
# private network namespace for the udev check), and the tree is deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/package
logs=$here/cache/logs # gitignored, like the chroot tarball
mkdir -p "$logs"

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*" >&2; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot)"
for tool in lintian debootstrap groff man cargo-deb unshare; do
    command -v "$tool" >/dev/null || fail "$tool missing: run scripts/setup"
done

# ---------------------------------------------------------------------------------------------
step "build the package"
deb=$(./scripts/build-deb 2>"$logs/build-deb.log" | tail -n1) || { cat "$logs/build-deb.log" >&2; fail "scripts/build-deb"; }
[ -f "$deb" ] || fail "scripts/build-deb printed no .deb path: $deb"
case $deb in */target/debian/macspoof_*.deb) ;; *) fail "unexpected .deb path $deb" ;; esac
# The binary in the package (build-deb packages what build-release builds; this rebuilds nothing).
bin=$(./scripts/build-release)

# ---------------------------------------------------------------------------------------------
step "layout list"
# build-release lays out the functions dist/symbol-order.txt names; a list gone stale (code or
# dependencies changed) no longer matches the binary's symbols and should be made again.
listed=$(grep -v '^#' dist/symbol-order.txt | LC_ALL=C sort -u)
found=$(nm "$bin" | awk '{ print $NF }' | LC_ALL=C sort -u | LC_ALL=C comm -12 - <(echo "$listed") | wc -l)
total=$(echo "$listed" | wc -l)
[ $((found * 10)) -ge $((total * 9)) ] ||
    fail "dist/symbol-order.txt: only $found of its $total functions are in the binary; run scripts/gen-symbol-order"

# ---------------------------------------------------------------------------------------------
step "lintian"
# Every override needs a reason: a comment right above it.
awk '/^[^#[:space:]]/ && prev !~ /^#/ { print "override without a reason: " $0; bad=1 } { prev=$0 } END { exit bad }' \
    dist/debian/lintian-overrides || fail "lintian-overrides"
lintian --pedantic --display-info --fail-on error,warning "$deb" >"$logs/lintian.log" 2>&1 ||
    { cat "$logs/lintian.log" >&2; fail "lintian reports errors or warnings"; }
if grep -E '^[EW]: ' "$logs/lintian.log"; then fail "lintian reports errors or warnings"; fi

# ---------------------------------------------------------------------------------------------
step "man pages and completions"
x=$(mktemp -d)
trap 'rm -rf "$x"' EXIT
dpkg-deb -x "$deb" "$x/pkg"
# Subcommands as `macspoof --help` lists them right now.
mapfile -t subcommands < <("$bin" --help | awk '/^Commands:/ { on=1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
[ "${#subcommands[@]}" -ge 3 ] || fail "could not read the subcommands from macspoof --help"
for page in usr/share/man/man8/macspoof.8.gz usr/share/man/man5/macspoof.toml.5.gz; do
    [ -f "$x/pkg/$page" ] || fail "$page not in the package"
    warnings=$(zcat "$x/pkg/$page" | LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z 2>&1)
    [ -z "$warnings" ] || fail "$page: groff warnings: $warnings"
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$x/pkg/$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$page: man warnings: $warnings"
done
LC_ALL=C.UTF-8 MANWIDTH=100 man -l "$x/pkg/usr/share/man/man8/macspoof.8.gz" 2>/dev/null | col -b >"$x/macspoof.8.txt"
for sub in "${subcommands[@]}"; do
    # Each subcommand has its own subsection under COMMANDS: an indented line with its name only.
    sed -n '/^COMMANDS/,/^EXIT STATUS/p' "$x/macspoof.8.txt" | grep -qx "   $sub" ||
        fail "macspoof(8) has no COMMANDS entry for '$sub'"
    grep -qw -- "$sub" "$x/pkg/usr/share/bash-completion/completions/macspoof" || fail "bash completion lacks $sub"
    grep -qw -- "$sub" "$x/pkg/usr/share/zsh/vendor-completions/_macspoof" || fail "zsh completion lacks $sub"
    grep -qw -- "$sub" "$x/pkg/usr/share/fish/vendor_completions.d/macspoof.fish" || fail "fish completion lacks $sub"
done
# Every exit code the program documents in --help is explained in EXIT STATUS.
for code in $("$bin" --help | awk '/^Exit codes:/ { on=1; next } on && /^  [0-9]/ { print $1 }'); do
    sed -n '/^EXIT STATUS/,/^ENVIRONMENT/p' "$x/macspoof.8.txt" | grep -qE "^ +$code +[A-Z]" ||
        fail "macspoof(8) EXIT STATUS lacks code $code"
done
for s in FILES NOTES "SEE ALSO" ENVIRONMENT; do grep -q "^$s" "$x/macspoof.8.txt" || fail "macspoof(8) lacks $s"; done
bash -n "$x/pkg/usr/share/bash-completion/completions/macspoof" || fail "bash completion syntax"

# ---------------------------------------------------------------------------------------------
step "bookworm chroot"
suite=bookworm
# The first plain Debian archive the host's apt uses for this suite (not -security/-updates).
mirror=$(python3 "$here/mirror.py" "$suite") || fail "no $suite mirror in the host's apt configuration"
# debootstrap does not resolve virtual packages: dbus and libpam-systemd provide the
# system bus and logind that network-manager and polkitd need.
include=systemd,udev,dbus,libpam-systemd,network-manager,initramfs-tools
key=$(printf '%s\n' "$suite" "$mirror" "$include" "$(dpkg-query -W -f '${Version}' debootstrap)" \
    "$(sha256sum "$here/mirror.py" | cut -d' ' -f1)" "v1" | sha256sum | cut -c1-16)
cache=$here/cache
tarball=$cache/$suite-$key.tar.gz
if [ ! -f "$tarball" ]; then
    step "debootstrap $suite from $mirror (cached afterwards as $tarball)"
    mkdir -p "$cache"
    boot=$(mktemp -d /var/tmp/macspoof-debootstrap.XXXXXX)
    if ! debootstrap --variant=minbase --include="$include" "$suite" "$boot/root" "$mirror" >"$logs/debootstrap.log" 2>&1; then
        tail -20 "$logs/debootstrap.log" >&2
        rm -rf "$boot"
        fail "debootstrap"
    fi
    rm -rf "$boot/root/var/cache/apt/archives/"*.deb
    tar -C "$boot/root" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$boot"
    # Older keys are stale inputs.
    find "$cache" -name "$suite-*.tar.gz" ! -name "$(basename "$tarball")" -delete
fi

root=$(mktemp -d /var/tmp/macspoof-chroot.XXXXXX)
trap 'rm -rf "$x"; rm -rf --one-file-system "$root"' EXIT
tar -C "$root" -xzf "$tarball"
cp "$deb" "$root/tmp/macspoof.deb"
mkdir -p "$root/tmp/dist"
cp -r dist/systemd "$root/tmp/dist/" 2>/dev/null || mkdir -p "$root/tmp/dist/systemd"
cp dist/examples/NetworkManager-live.conf "$root/tmp/dist/"
cp "$here/in-chroot.sh" "$root/tmp/in-chroot.sh"

# A private mount namespace (mounts vanish with it) and a private network namespace (the udev
# check creates a veth pair); the chroot never sees the host's /run, /dev or interfaces.
unshare --mount --net --propagation private -- bash -euo pipefail -c '
    root=$1
    ip link set lo up
    ip link add msveth0 type veth peer name msveth1
    mount -t proc proc "$root/proc"
    mount -t sysfs sysfs "$root/sys"
    rc=0
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
        bash /tmp/in-chroot.sh || rc=$?
    umount "$root/sys" "$root/proc"
    exit $rc
' _ "$root" || fail "in-chroot checks"
echo "package test: all checks passed" >&2
