#!/bin/sh
# Installs, from Debian 12's own packages, what the project needs:
#   scripts/install-deps.sh demo   build the module and run the demo
#   scripts/install-deps.sh        (or "all") also the whole test suite:
#                                  database servers (started by the tests
#                                  only, on loopback, in scratch folders),
#                                  redis, clang, valgrind, wrk...
set -eu
DEMO="apache2 apache2-dev libapr1-dev libaprutil1-dev libjansson-dev
 libyajl-dev libcurl4-openssl-dev libsqlite3-dev libaprutil1-dbd-sqlite3 sqlite3
 autoconf automake libtool pkg-config make gcc python3 ca-certificates curl"
TEST="libapache2-mod-perl2 libwww-perl openssl
 libaprutil1-dbd-mysql libaprutil1-dbd-pgsql mariadb-server mariadb-client
 postgresql postgresql-client redis-server redis-tools
 clang libclang-rt-14-dev wrk valgrind procps prometheus"
case "${1:-all}" in
demo) PACKAGES="$DEMO" ;;
all) PACKAGES="$DEMO $TEST" ;;
*) echo "usage: $0 [demo|all]" >&2; exit 2 ;;
esac
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# nothing to do (and no root needed) when every package is there already
# shellcheck disable=SC2086
have=$(dpkg-query -W -f '${db:Status-Abbrev}\n' $PACKAGES 2>/dev/null | grep -c '^ii' || true)
if [ "$have" -eq "$(echo $PACKAGES | wc -w)" ]; then
    echo "install-deps: the packages are installed already"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES
