#!/bin/bash
# Runs every benchmark of tests/bench and prints a results table (markdown).
# Not part of ctest: timings on a shared 2-core machine are no pass/fail test.
#
#   tests/bench/run.sh [--build DIR] [bench.py options: --only captured --rounds 7 ...]
#
# DIR defaults to $ELAINE_BUILD_DIR, else build/ at the repository root; it is
# configured (RelWithDebInfo) when missing, and the shim, the collector and the
# bench tools (elaine_replay, elaine_tls_client, elaine_sink) are built in it.
# Needs: nginx, wrk, openssl, zstd; optional: mitmdump (mitmproxy), valgrind.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ELAINE_BUILD_DIR:-$root/build}
args=()
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
for t in nginx wrk openssl zstd; do
  command -v "$t" >/dev/null || [[ -x /usr/sbin/$t ]] || { echo "run.sh: $t is missing (apt-get install $t)" >&2; exit 1; }
done
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target memoryelaine elaine-collector bench_tools >/dev/null
exec /usr/bin/python3 "$here/bench.py" --build "$build" "${args[@]}"
