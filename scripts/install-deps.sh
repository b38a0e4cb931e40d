#!/bin/sh
# Installs, from Debian 12's own packages, everything needed to build the
# module, run the demo and run the test suite on every engine (the database
# servers are only started by the tests, on loopback, in scratch folders).
set -eu
PACKAGES="apache2 apache2-dev libapr1-dev libaprutil1-dev libjansson-dev
 libcurl4-openssl-dev libsqlite3-dev libaprutil1-dbd-sqlite3 sqlite3
 autoconf automake libtool pkg-config make gcc
 libapache2-mod-perl2 libwww-perl python3 openssl curl ca-certificates
 libaprutil1-dbd-mysql libaprutil1-dbd-pgsql mariadb-server mariadb-client
 postgresql postgresql-client redis-server redis-tools
 clang libclang-rt-14-dev wrk valgrind procps"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES
