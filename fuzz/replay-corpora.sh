#!/bin/sh
# make check: every fuzz target's committed corpus (fuzz/corpus/<target>/,
# seeds and past crashes) replayed through the target built with the plain
# compiler (fuzz/replay.c), so they stay regression tests without clang.
set -eu
SRC=${srcdir:-$(dirname "$0")/..}
status=0
for t in fuzz_envelope fuzz_token fuzz_rc_answer fuzz_routing fuzz_form; do
    bin=fuzz/replay_${t#fuzz_}
    set -- "$SRC/fuzz/corpus/$t"/*
    [ -e "$1" ] || { echo "no corpus for $t" >&2; status=1; continue; }
    "$bin" "$@" || { echo "FAIL: $t's corpus" >&2; status=1; }
done
exit $status
