#!/usr/bin/env bash
# Runs inside the fresh bookworm chroot (see run.sh): install, check, reinstall, remove, purge.
# /tmp/macspoof.deb is the package, /tmp/dist/systemd a copy of the source tree's units.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
fail() { echo "FAIL (chroot): $*" >&2; exit 1; }
step() { echo "== chroot: $*" >&2; }

# No service may start from a maintainer script in here.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
[ ! -d /run/systemd/system ] || fail "systemd must not be running in the chroot"
[ ! -d /run/udev ] || fail "udev must not be running in the chroot"

# Everything on the root file system except runtime and bookkeeping that dpkg itself owns.
snapshot() {
    find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
        -o -path /var/lib/dpkg -o -path /var/log -o -path /var/cache/debconf \
        -o -path /var/cache/ldconfig \) -prune -o -print | sort
}
snapshot >/tmp/before

units=() enabled=() user_units=() user_enabled=()
shopt -s nullglob
for f in /tmp/dist/systemd/*.service /tmp/dist/systemd/*.path /tmp/dist/systemd/*.socket \
    /tmp/dist/systemd/*.timer /tmp/dist/systemd/*.target; do
    units+=("$(basename "$f")")
    grep -q '^\[Install\]' "$f" && enabled+=("$(basename "$f")")
done
for f in /tmp/dist/systemd/user/*.service /tmp/dist/systemd/user/*.path /tmp/dist/systemd/user/*.timer; do
    user_units+=("$(basename "$f")")
    grep -q '^\[Install\]' "$f" && user_enabled+=("$(basename "$f")")
done
shopt -u nullglob

# ---------------------------------------------------------------------------------------------
step "dpkg -i (no systemd, no udev running)"
dpkg -i /tmp/macspoof.deb >/tmp/dpkg-install.log 2>&1 || { cat /tmp/dpkg-install.log >&2; fail "dpkg -i"; }
[ "$(dpkg-query -W -f '${db:Status-Abbrev}' macspoof)" = "ii " ] || fail "macspoof not installed cleanly"

step "files where Debian expects them"
for f in /usr/sbin/macspoof /lib/udev/rules.d/05-macspoof.rules \
    /usr/lib/NetworkManager/conf.d/30-macspoof.conf /etc/macspoof/macspoof.toml \
    /usr/share/man/man8/macspoof.8.gz /usr/share/man/man5/macspoof.toml.5.gz \
    /usr/share/bash-completion/completions/macspoof /usr/share/zsh/vendor-completions/_macspoof \
    /usr/share/fish/vendor_completions.d/macspoof.fish /usr/share/doc/macspoof/copyright \
    /usr/share/doc/macspoof/examples/gdm3-PostLogin-Default \
    /usr/share/doc/macspoof/examples/NetworkManager-live.conf; do
    [ -f "$f" ] || fail "$f missing"
done
[ -x /usr/sbin/macspoof ] || fail "/usr/sbin/macspoof not executable"
/usr/sbin/macspoof --version >/dev/null || fail "the binary does not run on bookworm"
grep -qx /etc/macspoof/macspoof.toml /var/lib/dpkg/info/macspoof.conffiles || fail "config is not a conffile"
[ -x /usr/share/initramfs-tools/hooks/macspoof ] || [ ! -e /usr/share/initramfs-tools/hooks/macspoof ] ||
    fail "initramfs hook not executable"

step "default config: as shipped, and with every example setting uncommented"
out=$(/usr/sbin/macspoof --config /etc/macspoof/macspoof.toml status --json 2>&1) || fail "status: $out"
grep -q '"source": "default"' <<<"$out" || fail "shipped config (all commented) should mean defaults: $out"
sed -E 's/^#([a-z_]+ = )/\1/' /etc/macspoof/macspoof.toml >/tmp/full.toml
grep -q '^enabled = true' /tmp/full.toml || fail "no commented example setting found"
out=$(/usr/sbin/macspoof --config /tmp/full.toml status --json 2>&1) || fail "status: $out"
grep -q '"source": "config-file"' <<<"$out" || fail "the config's examples do not parse: $out"

step "units installed and enabled (${#units[@]} system, ${#user_units[@]} user)"
for u in "${units[@]}"; do [ -f "/lib/systemd/system/$u" ] || fail "$u not installed"; done
for u in "${user_units[@]}"; do [ -f "/usr/lib/systemd/user/$u" ] || fail "user unit $u not installed"; done
for u in "${enabled[@]}"; do
    [ "$(systemctl is-enabled "$u" 2>&1)" = enabled ] || fail "$u not enabled"
done
for u in "${user_enabled[@]}"; do
    [ "$(systemctl --global is-enabled "$u" 2>&1)" = enabled ] || fail "user unit $u not enabled"
done

step "systemd-analyze verify"
verify() { # files...; any message about our files is a failure (unknown keys only warn)
    local out
    out=$(systemd-analyze verify --man=no "$@" 2>&1) || fail "systemd-analyze verify $*: $out"
    if grep -E 'macspoof|NetworkManager.service.d' <<<"$out"; then fail "systemd-analyze verify $*"; fi
}
for u in "${units[@]}"; do verify "/lib/systemd/system/$u"; done
# The user manager's paths need a runtime directory, as a logged-in user has.
user_runtime=$(mktemp -d)
for u in "${user_units[@]}"; do
    out=$(XDG_RUNTIME_DIR=$user_runtime systemd-analyze --user verify --man=no "/usr/lib/systemd/user/$u" 2>&1) ||
        fail "verify --user $u: $out"
    if grep 'macspoof' <<<"$out"; then fail "systemd-analyze --user verify $u"; fi
done
# The live-profile drop-in, as the image builder installs it.
mkdir -p /etc/systemd/system/NetworkManager.service.d
cp /usr/share/doc/macspoof/examples/NetworkManager-live.conf /etc/systemd/system/NetworkManager.service.d/macspoof-live.conf
verify /lib/systemd/system/NetworkManager.service
rm -r /etc/systemd/system/NetworkManager.service.d

step "NetworkManager reads the conf.d file"
[ ! -e /var/lib/NetworkManager/NetworkManager-intern.conf ] || fail "unexpected NM state file"
nmconf=$(NetworkManager --print-config 2>&1) || fail "NetworkManager --print-config: $nmconf"
rm -f /var/lib/NetworkManager/NetworkManager-intern.conf # written by --print-config, not by us
for kv in ethernet.cloned-mac-address=preserve wifi.cloned-mac-address=preserve wifi.scan-rand-mac-address=yes; do
    grep -qx "$kv" <<<"$nmconf" || fail "NetworkManager config lacks $kv: $nmconf"
done
if grep -q 'cloned-mac-address=permanent' <<<"$nmconf"; then fail "cloned-mac-address=permanent"; fi

step "udevadm test: the rule runs macspoof for an Ethernet-type device, not for loopback"
[ -e /sys/class/net/msveth0 ] || fail "test veth missing in /sys"
out=$(udevadm test --action=add /sys/class/net/msveth0 2>&1) || fail "udevadm test: $out"
if grep -iE '05-macspoof.rules.*(invalid|error|unknown|fail)' <<<"$out"; then fail "udev rejects the rule"; fi
grep -q "Reading rules file: /lib/udev/rules.d/05-macspoof.rules" <<<"$out" ||
    grep -q "05-macspoof.rules" <<<"$out" || fail "udev did not read 05-macspoof.rules: $out"
grep -qx "run: '/usr/sbin/macspoof udev'" <<<"$out" || fail "rule does not RUN macspoof for msveth0: $out"
out=$(udevadm test --action=add /sys/class/net/lo 2>&1) || fail "udevadm test lo: $out"
if grep -q "macspoof udev" <<<"$out"; then fail "rule runs for loopback (type 772)"; fi
rm -rf /run/udev

# ---------------------------------------------------------------------------------------------
step "reinstall the same version (upgrade path): local config and admin choices survive"
echo 'enabled = false' >>/etc/macspoof/macspoof.toml
if [ "${#enabled[@]}" -gt 0 ]; then
    systemctl disable "${enabled[0]}" >/dev/null 2>&1
fi
dpkg -i /tmp/macspoof.deb >/tmp/dpkg-upgrade.log 2>&1 || { cat /tmp/dpkg-upgrade.log >&2; fail "reinstall"; }
grep -qx 'enabled = false' /etc/macspoof/macspoof.toml || fail "reinstall overwrote the local config"
if [ "${#enabled[@]}" -gt 0 ]; then
    [ "$(systemctl is-enabled "${enabled[0]}" 2>&1)" = disabled ] || fail "reinstall re-enabled ${enabled[0]}"
    for u in "${enabled[@]:1}"; do [ "$(systemctl is-enabled "$u")" = enabled ] || fail "$u not enabled after reinstall"; done
fi

step "remove: program gone, config kept; a leftover driver blocklist is dropped"
echo 'install e1000 /bin/false' >/etc/modprobe.d/macspoof-blocklist.conf
dpkg -r macspoof >/tmp/dpkg-remove.log 2>&1 || { cat /tmp/dpkg-remove.log >&2; fail "dpkg -r"; }
[ ! -e /usr/sbin/macspoof ] || fail "binary left after remove"
[ ! -e /lib/udev/rules.d/05-macspoof.rules ] || fail "rule left after remove"
[ -f /etc/macspoof/macspoof.toml ] || fail "remove deleted the config (only purge may)"
[ ! -e /etc/modprobe.d/macspoof-blocklist.conf ] || fail "remove left the driver blocklist"

step "purge: nothing left behind"
mkdir -p /var/lib/macspoof && touch /var/lib/macspoof/state
dpkg -P macspoof >/tmp/dpkg-purge.log 2>&1 || { cat /tmp/dpkg-purge.log >&2; fail "dpkg -P"; }
[ -z "$(dpkg-query -W -f '${db:Status-Abbrev}' macspoof 2>/dev/null)" ] ||
    [ "$(dpkg-query -W -f '${db:Status-Abbrev}' macspoof 2>/dev/null)" = "un " ] || fail "package still known to dpkg"
snapshot >/tmp/after
if ! diff -u /tmp/before /tmp/after >/tmp/stray; then
    cat /tmp/stray >&2
    fail "purge left files behind (or removed files it did not own)"
fi
echo "chroot checks passed" >&2
