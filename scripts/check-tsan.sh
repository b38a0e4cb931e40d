#!/bin/sh
# The core's concurrent pieces (the single-flight table) under clang's
# ThreadSanitizer: tests/tsan_flight.c with modules/wcim_flight.c, built in
# a scratch folder. Exit status 0 only when the program passes and TSan
# reported nothing. Usage: scripts/check-tsan.sh [SRCDIR]
set -eu
SRC=$(cd "${1:-$(dirname "$0")/..}" && pwd)
CC=${TSAN_CC:-clang}
command -v "$CC" >/dev/null || { echo "check-tsan: $CC not found (apt-get install clang)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/wcim-tsan.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# shellcheck disable=SC2046
"$CC" -g -O1 -fsanitize=thread -o "$WORK/tsan_flight" \
    "$SRC/tests/tsan_flight.c" "$SRC/modules/wcim_flight.c" \
    $(pkg-config --cflags --libs apr-1)
TSAN_OPTIONS="halt_on_error=1 exitcode=66 history_size=4" "$WORK/tsan_flight"
