#!/usr/bin/env bash
# The kernel's real selftest harness and uapi headers for compiling luv's reproducers, from
# Debian's linux-source-6.12 package (tools/testing/selftests/kselftest_harness.h, and
# include/uapi/linux/{iommufd,vfio}.h installed with the kernel's own
# scripts/headers_install.sh, which needs the unifdef package). The rest of <linux/*.h>
# comes from linux-libc-dev. The series' live-update uapi, which no package has, is in
# src/report/c/include/ (written by luv per series version).
#
# usage: kernel-headers.sh [OUT]   (default /var/cache/luv/linux-headers; idempotent)
set -euo pipefail
out=${1:-/var/cache/luv/linux-headers}
[ -f "$out/.done" ] && exit 0
tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -1)
[ -n "$tarball" ] || { echo "kernel-headers.sh: /usr/src/linux-source-6.12.tar.* missing (apt-get install linux-source-6.12)" >&2; exit 1; }
command -v unifdef >/dev/null || { echo "kernel-headers.sh: unifdef missing (apt-get install unifdef)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=linux-source-6.12
tar -xf "$tarball" -C "$tmp" \
  $src/tools/testing/selftests/kselftest_harness.h $src/tools/testing/selftests/kselftest.h \
  $src/include/uapi/linux/iommufd.h $src/include/uapi/linux/vfio.h $src/scripts/headers_install.sh
mkdir -p "$out/selftests" "$out/usr/include/linux"
cp "$tmp/$src/tools/testing/selftests/kselftest_harness.h" "$tmp/$src/tools/testing/selftests/kselftest.h" "$out/selftests/"
# headers_install.sh calls scripts/unifdef relative to the tree: give it the packaged one
mkdir -p "$tmp/$src/scripts" && ln -sf "$(command -v unifdef)" "$tmp/$src/scripts/unifdef"
for h in iommufd vfio; do
  (cd "$tmp/$src" && sh scripts/headers_install.sh include/uapi/linux/$h.h "$out/usr/include/linux/$h.h")
done
echo "linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)" > "$out/.done"
