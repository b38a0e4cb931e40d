#!/bin/sh
# Generates ./configure from configure.ac (a release tarball ships it).
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf --force --install
