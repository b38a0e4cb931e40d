#!/bin/sh
# The whole test suite from a fresh Debian 12 machine: installs the
# packages, builds from scratch, runs the unit tests and the corpus replay
# (`make check`), the Apache::Test suite against a real httpd (`make
# check-httpd`) on SQLite, MariaDB and PostgreSQL, and the two-node test
# (PostgreSQL + redis), then the soak test, the fuzzers, the sanitizer run
# and `make distcheck` (whose `make check` runs the suite on SQLite too).
# WCIM_SKIP_DEPS=1 skips apt; WCIM_ENGINES="sqlite" runs one engine only.
set -eu
cd "$(dirname "$0")/.."
[ -n "${WCIM_SKIP_DEPS:-}" ] || scripts/install-deps.sh
./autogen.sh
./configure
make
# the hermetic part: no server, no network
make check
WCIM_ENGINES="${WCIM_ENGINES:-sqlite mysql pgsql}" WCIM_CLUSTER="${WCIM_CLUSTER:-1}" \
    make check-httpd
# 60 s of 64 connections over good and bad requests: no errors, RSS flat
t/soak/run.sh
# the parsers under libFuzzer, and the whole suite against a module built
# with ASan+UBSan (plus a leak check), each failing on any report
make fuzz FUZZ_SECONDS="${WCIM_FUZZ_SECONDS:-60}"
# the core's concurrent pieces under ThreadSanitizer
make check-tsan
WCIM_ENGINES="${WCIM_ENGINES:-sqlite mysql pgsql}" make check-asan
# a release tarball builds, installs and passes its tests on its own
make distcheck
