#!/bin/sh
# Builds the Debian package (debian/) from this tree and checks it, as root on
# Debian 12:
#   1. installs the build dependencies (apt-get build-dep) and lintian;
#   2. copies the tree (git's files, tracked and untracked, not ignored ones;
#      the whole folder outside git) to a scratch folder and runs
#      `dpkg-buildpackage -us -uc` there (source and binary; `make check`
#      runs: the unit tests and the corpus replay, not the Apache::Test
#      suite);
#   3. lintian on the .changes: any E: or W: fails;
#   4. apt-get install ./libapache2-mod-weclubs-im_*.deb (pulls Depends and
#      Recommends), checks the files are where README.md and README.Debian
#      say, that the module is not enabled by the installation, then
#      a2enmod weclubs_im and `apache2ctl configtest` on Debian's default
#      apache2.conf (must say Syntax OK), then the package's autopkgtest
#      (debian/tests: its Depends installed, each test run as root from the
#      unpacked source): one signed request to a private httpd on loopback
#      that loads the installed module, schema and demo data;
#   5. puts the machine back: a2dismod, the modules a2enmod pulled in, purges
#      the package and whatever its installation pulled in, and checks that
#      /etc/apache2 and /var/lib/apache2 are as before.
# The build dependencies stay installed. The last line is "deb check: PASS",
# or the exit status is not 0. WCIM_KEEP=1 keeps the scratch folder.
set -eu
cd "$(dirname "$0")/.."
START=$(date +%s)
PKG=libapache2-mod-weclubs-im
export DEBIAN_FRONTEND=noninteractive
APT="apt-get -q -y -o DPkg::Lock::Timeout=600"

say() { printf '=== %s\n' "$*"; }
fail() { printf 'deb check: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (apt-get, a2enmod, dpkg)"
[ -f debian/control ] || fail "no debian/control: run from the top of the source tree"
if dpkg-query -W -f '${Status}\n' "$PKG" 2>/dev/null | grep -q 'ok installed\|config-files'; then
    fail "$PKG is already installed here; purge it first (this check purges it at the end)"
fi

SCRATCH=$(mktemp -d /tmp/wcim-deb.XXXXXX)
INSTALLED=""
NEW_PKGS=""
ENMODS=""

# What a2enmod and the package may touch, to compare at the end.
state() {
    find /etc/apache2 /var/lib/apache2 \( -type l -printf '%p -> %l\n' \) -o \
        \( -type f -printf '%p %s %T@\n' \) -o \( -type d -printf '%p/\n' \) \
        2>/dev/null | sort
}

# installed or half-installed packages, one name a line
installed_now() {
    dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 !~ /^.[nc]/ {print $2}' | sort
}

cleanup() {
    rc=$?
    set +e
    if [ -n "$INSTALLED" ]; then
        say "restoring the machine"
        if command -v a2query >/dev/null; then
            a2query -q -m weclubs_im && a2dismod -q weclubs_im
            # the modules a2enmod enabled because of "# Depends:"; -p
            # forgets a2enmod's state for them as if never touched
            for m in $ENMODS; do a2dismod -q -f -p "$m" >/dev/null; done
        fi
        # the package and what its installation pulled in (Depends, Recommends)
        installed_now >"$SCRATCH/pkgs.after"
        NEW_PKGS=$(comm -13 "$SCRATCH/pkgs.before" "$SCRATCH/pkgs.after" | grep -vxF "$PKG" | tr '\n' ' ' || true)
        echo "purging $PKG $NEW_PKGS"
        # shellcheck disable=SC2086
        $APT purge "$PKG" $NEW_PKGS >"$SCRATCH/purge.log" 2>&1 \
            || { cat "$SCRATCH/purge.log"; rc=1; }
        # a2enmod/a2dismod leave empty state folders behind
        find /var/lib/apache2 -mindepth 1 -type d -empty 2>/dev/null | while read -r d; do
            grep -qxF "$d/" "$SCRATCH/state.before" || rmdir "$d"
        done
        state >"$SCRATCH/state.after"
        if ! diff -u "$SCRATCH/state.before" "$SCRATCH/state.after" >"$SCRATCH/state.diff"; then
            echo "the machine's Apache configuration differs from before:" >&2
            cat "$SCRATCH/state.diff" >&2
            rc=1
        fi
    fi
    if [ -n "${WCIM_KEEP:-}" ]; then echo "scratch folder kept: $SCRATCH"; else rm -rf "$SCRATCH"; fi
    if [ $rc -eq 0 ]; then
        echo "time: $(( $(date +%s) - START )) s"
        echo "deb check: PASS"
    else
        echo "deb check: FAIL (time: $(( $(date +%s) - START )) s)" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

VERSION=$(dpkg-parsechangelog -l debian/changelog -S Version)
SRC="$SCRATCH/$PKG-$VERSION"

say "copying the tree to $SRC"
mkdir -p "$SRC"
if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked and untracked files, not ignored ones (build output, logs):
    # the source package gets what a clean checkout holds. Read-only: git
    # does not touch this tree's index.
    git ls-files -z --cached --others --exclude-standard \
        | tar --null --no-recursion --ignore-failed-read -T - -cf - 2>/dev/null \
        | tar -C "$SRC" -xf -
else
    cp -a . "$SRC"
    rm -rf "$SRC/.git"
fi

say "build dependencies"
$APT update >"$SCRATCH/apt-update.log" 2>&1 || { cat "$SCRATCH/apt-update.log"; fail "apt-get update"; }
$APT build-dep "$SRC" >"$SCRATCH/build-dep.log" 2>&1 || { cat "$SCRATCH/build-dep.log"; fail "apt-get build-dep"; }
$APT install --no-install-recommends lintian >"$SCRATCH/lintian-install.log" 2>&1 \
    || { cat "$SCRATCH/lintian-install.log"; fail "installing lintian"; }

say "dpkg-buildpackage -us -uc (log: build.log)"
if ! (cd "$SRC" && dpkg-buildpackage -us -uc) >"$SCRATCH/build.log" 2>&1; then
    tail -n 60 "$SCRATCH/build.log"
    fail "dpkg-buildpackage"
fi
grep -E '^(PASS|FAIL|ERROR|XFAIL|SKIP): |^# (TOTAL|PASS|FAIL|ERROR):' "$SCRATCH/build.log" || true
case " ${DEB_BUILD_OPTIONS:-} " in
*" nocheck "*) ;;
*) grep -q '^PASS: tests/unit_tests' "$SCRATCH/build.log" || fail "the unit tests did not run" ;;
esac
if grep -q 'run-suite.sh\|Apache::Test suite' "$SCRATCH/build.log"; then
    fail "the build ran the Apache::Test suite"
fi
CHANGES=$(ls "$SCRATCH"/"${PKG}_${VERSION}"_*.changes)
DEB=$(ls "$SCRATCH"/"${PKG}_${VERSION}"_*.deb)
(cd "$SCRATCH" && ls -l ./*.deb ./*.dsc ./*.tar.* ./*.changes)

say "lintian $(basename "$CHANGES")"
lint_rc=0
lintian --fail-on error,warning --display-info "$CHANGES" >"$SCRATCH/lintian.log" 2>&1 || lint_rc=$?
cat "$SCRATCH/lintian.log"
if [ $lint_rc -ne 0 ] || grep -q '^[EW]: ' "$SCRATCH/lintian.log"; then fail "lintian reports errors or warnings"; fi
echo "lintian: $(grep -c '^E: ' "$SCRATCH/lintian.log") errors, $(grep -c '^W: ' "$SCRATCH/lintian.log") warnings, $(grep -c '^I: ' "$SCRATCH/lintian.log") infos"

say "apt-get install ./$(basename "$DEB")"
state >"$SCRATCH/state.before"
installed_now >"$SCRATCH/pkgs.before"
# the modules that a2enmod weclubs_im will enable (none exist before apache2
# is installed, which may happen just below through Recommends)
for m in dbd socache_shmcb; do
    command -v a2query >/dev/null && a2query -q -m "$m" || ENMODS="$ENMODS $m"
done
INSTALLED=1
(cd "$SCRATCH" && $APT install "./$(basename "$DEB")") >"$SCRATCH/install.log" 2>&1 \
    || { cat "$SCRATCH/install.log"; fail "apt-get install"; }
installed_now >"$SCRATCH/pkgs.after"
echo "installed $PKG and: $(comm -13 "$SCRATCH/pkgs.before" "$SCRATCH/pkgs.after" | grep -vxF "$PKG" | tr '\n' ' ')"

say "files"
MODDIR=/usr/lib/apache2/modules
for f in $MODDIR/mod_weclubs_im.so \
         /etc/apache2/mods-available/weclubs_im.load \
         /etc/apache2/mods-available/weclubs_im.conf \
         /usr/share/mod_weclubs_im/sql/sqlite/schema.sql \
         /usr/share/mod_weclubs_im/sql/sqlite/messages.sql \
         /usr/share/mod_weclubs_im/sql/sqlite/nonces.sql \
         /usr/share/mod_weclubs_im/sql/sqlite/tokens.sql \
         /usr/share/mod_weclubs_im/sql/sqlite/reconcile.sql \
         /usr/share/mod_weclubs_im/sql/sqlite/demo-data.sql \
         /usr/share/mod_weclubs_im/sql/mysql/schema.sql \
         /usr/share/mod_weclubs_im/sql/mysql/messages.sql \
         /usr/share/mod_weclubs_im/sql/mysql/nonces.sql \
         /usr/share/mod_weclubs_im/sql/mysql/tokens.sql \
         /usr/share/mod_weclubs_im/sql/mysql/reconcile.sql \
         /usr/share/mod_weclubs_im/sql/pgsql/schema.sql \
         /usr/share/mod_weclubs_im/sql/pgsql/messages.sql \
         /usr/share/mod_weclubs_im/sql/pgsql/nonces.sql \
         /usr/share/mod_weclubs_im/sql/pgsql/tokens.sql \
         /usr/share/mod_weclubs_im/sql/pgsql/reconcile.sql \
         /usr/bin/weclubs-im-request \
         /usr/share/man/man1/weclubs-im-request.1.gz \
         /usr/share/doc/$PKG/README.Debian \
         /usr/share/doc/$PKG/copyright; do
    # dh_compress gzips the longer files of /usr/share/doc
    [ -e "$f" ] || [ ! -e "$f.gz" ] || f="$f.gz"
    dpkg -S "$f" >/dev/null 2>&1 || fail "$f is not in the package"
    [ -e "$f" ] || fail "$f is missing"
done
grep -qx "LoadModule weclubs_im_module $MODDIR/mod_weclubs_im.so" /etc/apache2/mods-available/weclubs_im.load \
    || fail "weclubs_im.load does not load $MODDIR/mod_weclubs_im.so"
grep -qx '# Depends: dbd socache_shmcb' /etc/apache2/mods-available/weclubs_im.load \
    || fail "weclubs_im.load lacks '# Depends: dbd socache_shmcb'"
for f in weclubs_im.load weclubs_im.conf; do
    dpkg-query -W -f '${Conffiles}\n' "$PKG" | grep -q " /etc/apache2/mods-available/$f " \
        || fail "/etc/apache2/mods-available/$f is not a conffile"
done
if a2query -q -m weclubs_im; then fail "the installation enabled the module (it should not)"; fi
weclubs-im-request --help >/dev/null || fail "weclubs-im-request --help"
echo "all in place; the module is installed, not enabled"

say "a2enmod weclubs_im; apache2ctl configtest"
a2enmod weclubs_im
for m in weclubs_im dbd socache_shmcb; do a2query -q -m "$m" || fail "$m is not enabled after a2enmod weclubs_im"; done
out=$(apache2ctl configtest 2>&1) || { echo "$out"; fail "apache2ctl configtest"; }
echo "$out"
echo "$out" | grep -qx 'Syntax OK' || fail "configtest did not say Syntax OK"
apache2ctl -M 2>/dev/null | grep -q 'weclubs_im_module' || fail "apache2ctl -M does not list weclubs_im_module"

# debian/tests/control, as autopkgtest reads it: a field's value over all
# stanzas, its continuation lines joined
control_field() {
    awk -v f="$1:" '
        /^#/ { next }
        /^$/ { on = 0; next }
        /^[ \t]/ { if (on) printf "%s ", $0; next }
        { on = ($1 == f); if (on) { sub(/^[^:]*:/, ""); printf "%s ", $0 } }
    ' "$SRC/debian/tests/control"
}
say "autopkgtest: debian/tests (the installed package)"
# Depends: @ is the package (installed above); the others come from apt and
# go again with the purge below. Alternatives and versions are not read.
TEST_DEPS=$(control_field Depends | tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | grep -vx '@' | grep -v '^$' || true)
case "$TEST_DEPS" in *'|'*|*'('*) fail "debian/tests/control: alternatives or versions in Depends (not read here)" ;; esac
# shellcheck disable=SC2086
$APT install $TEST_DEPS >"$SCRATCH/test-deps.log" 2>&1 \
    || { cat "$SCRATCH/test-deps.log"; fail "installing the tests' Depends: $(echo "$TEST_DEPS" | tr '\n' ' ')"; }
TESTS=$(control_field Tests)
[ -n "$TESTS" ] || fail "debian/tests/control names no test"
for t in $TESTS; do
    mkdir -p "$SCRATCH/autopkgtest/$t/tmp" "$SCRATCH/autopkgtest/$t/artifacts"
    # run from the unpacked source, as autopkgtest does; no stderr is
    # judged here (the control says allow-stderr), the exit status is
    rc=0
    (cd "$SRC" && AUTOPKGTEST_TMP="$SCRATCH/autopkgtest/$t/tmp" \
        AUTOPKGTEST_ARTIFACTS="$SCRATCH/autopkgtest/$t/artifacts" \
        "debian/tests/$t") || rc=$?
    [ $rc -eq 0 ] || fail "autopkgtest $t (exit status $rc)"
    echo "autopkgtest $t: PASS"
done

say "a2dismod weclubs_im; purge"
a2dismod -q weclubs_im
