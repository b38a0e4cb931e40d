#!/bin/sh
# Runs the Apache::Test suite against the module built in this tree
# (called by `make check`). Apache::Test will not start httpd as root, so
# as root the built tree is copied to a scratch folder owned by `nobody`
# and the suite runs there as that user.
set -eu
cd "$(dirname "$0")/.."
APXS="${APXS:-$(command -v apxs2 || command -v apxs)}"

/usr/bin/python3 t/standin_selftest.py >/dev/null 2>t/standin-selftest.log \
    || { cat t/standin-selftest.log; echo "RongCloud stand-in self-test failed"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    exec perl t/TEST.PL -apxs "$APXS" "$@"
fi

SCRATCH=$(mktemp -d /tmp/wcim-suite.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT INT TERM
cp -a . "$SCRATCH/tree"
chown -R nobody "$SCRATCH"
chmod 755 "$SCRATCH"
status=0
runuser -u nobody -- sh -c 'cd "$1" && shift && perl t/TEST.PL "$@"' \
    sh "$SCRATCH/tree" -apxs "$APXS" "$@" || status=$?
# keep the logs where the caller can read them
rm -rf t/logs.last && cp -a "$SCRATCH/tree/t/logs" t/logs.last 2>/dev/null || true
exit $status
