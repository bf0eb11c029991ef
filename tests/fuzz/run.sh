#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined)
# in a separate tree and runs each for SECONDS (default 10), seeded from
# tests/data (make_corpus.sh). Fails on any crash, leak, UB or failed oracle;
# the input that did it is kept under BUILD/artifacts/.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# BUILD is $ELAINE_FUZZ_BUILD_DIR, default build-fuzz at the top of the
# repository. The corpus found so far stays in BUILD/corpus/<target> and is
# reused by the next run; ELAINE_FUZZ_FRESH=1 starts from the seeds alone
# (ctest does, so that its run takes the same time every time). Extra
# libFuzzer flags: ELAINE_FUZZ_ARGS="-only_ascii=1".
# Exit status 77 (ctest: skipped) when clang or its fuzzer runtime
# (Debian: clang, libclang-rt-14-dev) is missing. See README.md for long runs.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-10}
# 0: replay the seeds and the regression inputs once, without fuzzing: the
# deterministic mode that ctest runs (random fuzzing in CI would fail at random).
if [[ $secs == 0 ]]; then time_args=(-runs=0); else time_args=(-max_total_time="$secs"); fi
shift || true
B=${ELAINE_FUZZ_BUILD_DIR:-$src/build-fuzz}
all=(fuzz_frame fuzz_http1 fuzz_http2 fuzz_sse fuzz_ndjson fuzz_decode fuzz_providers fuzz_exchange fuzz_json)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

# Longest input per target: enough for the largest seed of each.
max_len() {
  case $1 in
    fuzz_frame | fuzz_exchange | fuzz_http2) echo 131072 ;;
    fuzz_decode | fuzz_http1 | fuzz_providers) echo 65536 ;;
    *) echo 32768 ;;
  esac
}

# Dictionary (written by make_corpus.sh) per target.
dict_for() {
  case $1 in
    fuzz_json | fuzz_providers | fuzz_sse | fuzz_ndjson) echo "-dict=$B/seeds/json.dict" ;;
    fuzz_http1 | fuzz_exchange | fuzz_frame) echo "-dict=$B/seeds/http.dict" ;;
  esac
}

skip() {
  echo "SKIP: $*: the fuzz targets need clang and libFuzzer (apt-get install clang libclang-rt-14-dev)"
  exit 77
}
CC=${ELAINE_FUZZ_CC:-clang}
command -v "$CC" >/dev/null 2>&1 || skip "$CC not found"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
"$CC" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >"$probe/log" 2>&1 ||
  skip "$CC cannot link -fsanitize=fuzzer ($(head -n 1 "$probe/log"))"

start=$SECONDS
if [[ ! -f $B/CMakeCache.txt ]]; then
  mkdir -p "$B"
  cmake -S "$src" -B "$B" -DCMAKE_C_COMPILER="$CC" -DELAINE_FUZZ=ON -DELAINE_WERROR=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >"$B/configure.log" 2>&1 ||
    { cat "$B/configure.log" >&2; echo "FAIL: cmake configure of $B" >&2; exit 1; }
fi
cmake --build "$B" -j"$(nproc)" --target "${targets[@]}" >"$B/build.log" 2>&1 ||
  { tail -n 40 "$B/build.log" >&2; echo "FAIL: building the fuzz targets in $B" >&2; exit 1; }
rm -rf "$B/seeds"
bash "$src/tests/fuzz/make_corpus.sh" "$B/seeds" >/dev/null
echo "fuzz: built in $((SECONDS - start))s; running each target for ${secs}s (0: seeds and regressions only)"

mkdir -p "$B/artifacts" "$B/logs"
failed=()
for t in "${targets[@]}"; do
  [[ -n ${ELAINE_FUZZ_FRESH:-} ]] && rm -rf "$B/corpus/$t"
  mkdir -p "$B/corpus/$t" "$B/seeds/$t"
  # inputs that once found a bug (tests/fuzz/regress/<target>/) run first, every time
  regress=()
  [[ -d $src/tests/fuzz/regress/$t ]] && regress=("$src/tests/fuzz/regress/$t")
  log=$B/logs/$t.log
  # ASan's default options plus: leaks are failures, and a bomb must stay
  # under the RSS limit (the decoders bound their memory whatever the input).
  # shellcheck disable=SC2086
  if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
     UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
     "$B/tests/fuzz/$t" "${time_args[@]}" -max_len="$(max_len "$t")" -timeout=25 \
       -rss_limit_mb=2048 -artifact_prefix="$B/artifacts/$t-" -print_final_stats=1 \
       $(dict_for "$t") ${ELAINE_FUZZ_ARGS:-} "$B/corpus/$t" "$B/seeds/$t" "${regress[@]}" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*' || echo "?")
    printf 'fuzz: %-16s ok   %8s runs, coverage %s, corpus %s\n' "$t" "$runs" "$cov" \
      "$(find "$B/corpus/$t" -type f | wc -l)"
  else
    failed+=("$t")
    printf 'fuzz: %-16s FAILED (log %s)\n' "$t" "$log"
    grep -E 'ERROR|FZ_ASSERT|runtime error|Test unit written|SUMMARY' "$log" | head -n 20 >&2 || true
  fi
done
echo "fuzz: done in $((SECONDS - start))s"
if ((${#failed[@]})); then
  echo "FAIL: ${failed[*]}; reproduce with BUILD/tests/fuzz/TARGET BUILD/artifacts/TARGET-crash-..." >&2
  exit 1
fi
