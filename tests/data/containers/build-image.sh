#!/usr/bin/env bash
# build-image.sh TAG: the test simulator image, made without a registry: a root
# file system with the static busybox, the test simulators of
# tests/data/simulators and container-sim.sh (the default command), imported
# with `podman import`. A second or so; rebuilt only when its files change.
set -euo pipefail
. "$(dirname "$0")/../../../scripts/lib.sh"
TAG=${1:-localhost/qg-test-sim:latest}
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || qg_die "$BUSYBOX missing (scripts/podman install brings busybox-static)"
here=$(cd "$(dirname "$0")" && pwd)
sums=$(cat "$BUSYBOX" "$here"/*.sh "$QG_ROOT"/tests/data/simulators/*.sh | sha256sum | cut -c1-16)
if [ "$(podman image inspect --format '{{index .Labels "io.querygoal.content"}}' "$TAG" 2>/dev/null)" = "$sums" ]; then
    echo "$TAG"
    exit 0
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sim,etc,tmp,work,proc,sys,dev}
cp "$BUSYBOX" "$root/bin/busybox"
for a in sh grep wc cat sleep id ls touch echo env awk tr rm printf sort pwd seq head dd; do
    ln -s busybox "$root/bin/$a"
done
cp "$here/container-sim.sh" "$QG_ROOT"/tests/data/simulators/*.sh "$root/sim/"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
tar -C "$root" -cf "$root.tar" .
podman import --change 'CMD ["/sim/container-sim.sh"]' --change 'ENV PATH=/bin' \
    --change "LABEL io.querygoal.content=$sums" "$root.tar" "$TAG" >/dev/null
rm -f "$root.tar"
echo "$TAG"
