#!/usr/bin/env bash
# Builds free-threaded CPython 3.13 (configure --disable-gil) into PREFIX (default /opt/py313t),
# from Debian's python3.13 source package: the machines here reach Debian's archive and PyPI
# but not python.org. Takes about 3 minutes on 2 cores. Does nothing if PREFIX already has it.
set -euo pipefail
prefix=${1:-/opt/py313t}
if [ -x "$prefix/bin/python3.13t" ]; then
    echo "free-threaded Python already at $prefix/bin/python3.13t"
    exit 0
fi
work=$(mktemp -d /tmp/cpython-ft.XXXXXX)
trap 'rm -rf "$work"' EXIT

# A private apt state, so that the machine's own source lists are left alone.
state=$work/apt-state
mkdir -p "$state/lists/partial" "$state/archives/partial"
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
fi
echo "deb-src $mirror trixie main" > "$state/sources.list"
apt_private=(
    -o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state"
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
)
apt-get -qq "${apt_private[@]}" update
cd "$work"
apt-get -qq "${apt_private[@]}" source --download-only python3.13

# Debian's orig tarball is upstream's Python-3.13.5.tar.xz, byte for byte.
tarball=python3.13_3.13.5.orig.tar.xz
echo "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640  $tarball" | sha256sum --check --quiet
tar -xf "$tarball"
cd Python-3.13.5
# The compiler's warnings go to a log, printed only if the build fails.
if ! { ./configure --prefix="$prefix" --disable-gil --with-ensurepip=install \
        && make -j"$(nproc)" && make install; } >"$work/build.log" 2>&1; then
    tail -n 60 "$work/build.log"
    exit 1
fi
"$prefix/bin/python3.13t" -c 'import sys; assert not sys._is_gil_enabled(), "GIL is on"; print(sys.version)'
