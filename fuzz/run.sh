#!/bin/sh
# Builds the libFuzzer targets of fuzz/ against the core (modules/*.c) and
# runs each for SECONDS (default 60), one after the other:
#
#     fuzz/run.sh [SECONDS] [TARGET...]        e.g. fuzz/run.sh 300 fuzz_token
#
# Targets: fuzz_envelope fuzz_token fuzz_rc_answer fuzz_routing fuzz_form (default:
# all). Works as root and as any user; writes nothing into the source
# tree. The build,
# a copy of the committed corpus (fuzz/corpus/<target>/, which new inputs
# never touch), the logs and any crash file go to a scratch folder: a
# fresh one under $TMPDIR, removed when every target passed, or
# $WCIM_FUZZ_DIR when set (kept, and reused).
#
# Prints "fuzz_x: N runs, OK (...)" per target. Any crash, sanitizer
# report, leak, time-out or failed property: prints the report and the
# crash file, keeps the scratch folder, and exits 1 (2: a build failure).
# Reproduce a crash with: <scratch>/bin/fuzz_x <crash file>
#
# Environment: WCIM_FUZZ_CC (default clang, else clang-14); WCIM_FUZZ_DIR;
# WCIM_FUZZ_CFLAGS (extra compile flags, e.g. -DFUZZ_TOKEN_NUL_TERMINATED);
# WCIM_FUZZ_ARGS (extra libFuzzer flags, e.g. "-max_len=65536");
# WCIM_FUZZ_COVERAGE=1 (afterwards, the core's source coverage by each
# target's corpus, from llvm-cov).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd -P)
TOP=$(dirname "$HERE")
ALL_TARGETS="fuzz_envelope fuzz_token fuzz_rc_answer fuzz_routing fuzz_form"

SECONDS_EACH=60
case "${1:-}" in
''|*[!0-9]*) ;;
*) SECONDS_EACH=$1; shift ;;
esac
TARGETS=${*:-$ALL_TARGETS}
for t in $TARGETS; do
    case " $ALL_TARGETS " in
    *" $t "*) ;;
    *) echo "usage: $0 [SECONDS] [TARGET...]; targets: $ALL_TARGETS" >&2; exit 2 ;;
    esac
done

# not $CC: make and CI environments often set it to gcc, which has no libFuzzer
CC=${WCIM_FUZZ_CC:-$(command -v clang || command -v clang-14 || true)}
[ -n "$CC" ] || { echo "$0: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

if [ -n "${WCIM_FUZZ_DIR:-}" ]; then
    mkdir -p "$WCIM_FUZZ_DIR"
    WORK=$(cd "$WCIM_FUZZ_DIR" && pwd -P)
    KEEP=1
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/wcim-fuzz.XXXXXX")
    KEEP=0
fi
case "$WORK/" in
"$TOP"/*) echo "$0: the scratch folder $WORK is inside the source tree" >&2; exit 2 ;;
esac

# ---- build -----------------------------------------------------------
PKGS="apr-1 apr-util-1 jansson yajl libcurl"
PKG_CFLAGS=$(pkg-config --cflags $PKGS)
PKG_LIBS=$(pkg-config --libs $PKGS)
# -fno-sanitize-recover: every UBSan finding is fatal (and kept by
# libFuzzer as a crash), whatever UBSAN_OPTIONS says.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS_F="-g -O1 -fno-omit-frame-pointer $SAN -I$TOP/modules $PKG_CFLAGS ${WCIM_FUZZ_CFLAGS:-}"

mkdir -p "$WORK/obj" "$WORK/bin" "$WORK/logs"
rm -f "$WORK/obj/"*.o "$WORK/libwcim-fuzz.a"
build_log="$WORK/logs/build.log"
: >"$build_log"
build() {
    echo "+ $*" >>"$build_log"
    "$@" >>"$build_log" 2>&1 || {
        cat "$build_log" >&2
        echo "$0: build failed; log: $build_log" >&2
        exit 2
    }
}
# The core, with coverage for libFuzzer; an archive, so that each target
# takes only the objects it needs.
for src in "$TOP"/modules/*.c; do
    build $CC $CFLAGS_F -fsanitize=fuzzer-no-link -c "$src" \
        -o "$WORK/obj/$(basename "$src" .c).o"
done
build ar rcs "$WORK/libwcim-fuzz.a" "$WORK"/obj/*.o
# fuzz_envelope compares the core with the parser it replaced
# (envelope_reference.c), built with the target, not into the core.
extra_sources() {
    case "$1" in
    fuzz_envelope) echo "$HERE/envelope_reference.c" ;;
    esac
}
for t in $TARGETS; do
    # shellcheck disable=SC2046
    build $CC $CFLAGS_F -fsanitize=fuzzer -Wall -Wextra "$HERE/$t.c" \
        $(extra_sources "$t") "$WORK/libwcim-fuzz.a" $PKG_LIBS -o "$WORK/bin/$t"
done

# ---- run -------------------------------------------------------------
# Any report is fatal and kept: the error stops the run, the abort lets
# libFuzzer write the input; leaks are checked per input (LSan).
ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1:symbolize=1:handle_abort=1"
UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:symbolize=1"
export ASAN_OPTIONS UBSAN_OPTIONS

status=0
for t in $TARGETS; do
    corpus="$WORK/corpus/$t"
    artifacts="$WORK/artifacts/$t"
    log="$WORK/logs/$t.log"
    rm -rf "$corpus" "$artifacts"
    mkdir -p "$corpus" "$artifacts" "$WORK/run/$t"
    cp -R "$HERE/corpus/$t/." "$corpus/"
    dict=""
    [ -f "$HERE/$t.dict" ] && dict="-dict=$HERE/$t.dict"
    rc=0
    # shellcheck disable=SC2086
    (cd "$WORK/run/$t" && exec "$WORK/bin/$t" \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        $dict ${WCIM_FUZZ_ARGS:-} "$corpus") >"$log" 2>&1 || rc=$?
    crash=$(find "$artifacts" -type f | head -n 1)
    if [ "$rc" -eq 0 ] && [ -z "$crash" ]; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 \
              | sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1, ft \2, corpus \3/')
        echo "$t: ${runs:-?} runs, OK ($cov)"
    else
        status=1
        # the sanitizer's report and libFuzzer's last words
        sed -n '/^==[0-9]*==ERROR\|^[^ ]*:[0-9]*:[0-9]*: runtime error\|property failed\|^ALARM\|^==[0-9]*== ERROR: libFuzzer/,$p' "$log" >&2
        echo "$t: FAILED (exit $rc); crash file: ${crash:-none, see $log}" >&2
        echo "  reproduce: $WORK/bin/$t ${crash:-<input>}" >&2
    fi
done

# ---- coverage (WCIM_FUZZ_COVERAGE=1) ------------------------------------
# Source coverage of the core by each target's corpus after the run: the
# targets rebuilt with clang's profile instrumentation (no sanitizer), run
# once over the corpus, then llvm-cov's per-file report of modules/.
if [ "${WCIM_FUZZ_COVERAGE:-0}" = 1 ] && [ "$status" -eq 0 ]; then
    PROFDATA=$(command -v llvm-profdata || command -v llvm-profdata-14 || true)
    LLVMCOV=$(command -v llvm-cov || command -v llvm-cov-14 || true)
    if [ -z "$PROFDATA" ] || [ -z "$LLVMCOV" ]; then
        echo "coverage: llvm-profdata or llvm-cov not found" >&2
    else
        COVF="-g -O0 -fprofile-instr-generate -fcoverage-mapping -I$TOP/modules $PKG_CFLAGS ${WCIM_FUZZ_CFLAGS:-}"
        mkdir -p "$WORK/cov/obj"
        rm -f "$WORK/cov/obj/"*.o "$WORK/cov/libwcim-cov.a"
        for src in "$TOP"/modules/*.c; do
            build $CC $COVF -c "$src" -o "$WORK/cov/obj/$(basename "$src" .c).o"
        done
        build ar rcs "$WORK/cov/libwcim-cov.a" "$WORK"/cov/obj/*.o
        for t in $TARGETS; do
            # shellcheck disable=SC2046
            build $CC $COVF -fsanitize=fuzzer "$HERE/$t.c" $(extra_sources "$t") \
                "$WORK/cov/libwcim-cov.a" \
                $PKG_LIBS -o "$WORK/cov/$t"
            (cd "$WORK/run/$t" && LLVM_PROFILE_FILE="$WORK/cov/$t.profraw" \
                "$WORK/cov/$t" -runs=0 "$WORK/corpus/$t") >"$WORK/logs/$t.cov.log" 2>&1 || true
            "$PROFDATA" merge -sparse "$WORK/cov/$t.profraw" -o "$WORK/cov/$t.profdata"
            echo "coverage of modules/ by the $t corpus ($(ls "$WORK/corpus/$t" | wc -l) inputs): lines (regions)"
            "$LLVMCOV" report "$WORK/cov/$t" -instr-profile="$WORK/cov/$t.profdata" \
                -ignore-filename-regex='/fuzz/|/usr/' >"$WORK/cov/$t.report" 2>/dev/null || true
            files=$(awk '$1 ~ /\.c$/ && $4 != "0.00%" { print $1 }' "$WORK/cov/$t.report")
            awk '$1 ~ /\.c$/ && $4 != "0.00%" { printf "    %-20s %8s (%s)\n", $1, $10, $4 }' "$WORK/cov/$t.report"
            for f in $files; do
                "$LLVMCOV" report -show-functions "$WORK/cov/$t" \
                    -instr-profile="$WORK/cov/$t.profdata" "$TOP/modules/$f" 2>/dev/null \
                    | awk '$1 ~ /^wcim_/ && $4 != "0.00%" { printf "      %-30s %8s (%s)\n", $1 "()", $7, $4 }'
            done
        done
    fi
fi

if [ "$status" -eq 0 ] && [ "$KEEP" -eq 0 ]; then
    rm -rf "$WORK"
else
    echo "scratch folder (build, corpus copy, logs, crash files): $WORK"
fi
exit $status
