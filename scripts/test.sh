#!/bin/sh
# The whole test suite from a fresh Debian 12 machine: installs the
# packages, builds from scratch, runs the unit tests and the Apache::Test
# suite against a real httpd (`make check`). WCIM_SKIP_DEPS=1 skips apt.
set -eu
cd "$(dirname "$0")/.."
[ -n "${WCIM_SKIP_DEPS:-}" ] || scripts/install-deps.sh
./autogen.sh
./configure
make
make check
