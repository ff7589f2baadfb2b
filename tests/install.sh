#!/bin/sh
# tests/install.sh -- `make install` as a user meets it, into temporary
# directories:
#  - make install prefix=P (a make-time prefix, not configure's): binaries,
#    libdmutex.a, dmutex.h, dmutex.pc naming P, the five man pages, the
#    systemd unit naming P/bin/dmutexd, the sample config;
#  - the library example (tests/net_api_example.c) compiled and linked with
#    nothing but `pkg-config --cflags --libs dmutex`, then run as the third
#    member of a cluster of two installed dmutexd;
#  - pkg-config --define-variable=prefix=Q moves dmutex's directories;
#  - make install DESTDIR=D puts everything under D with the configured
#    prefix inside the files, and make uninstall removes it all again.
# Environment: DM_NET_BIN (build tree), DM_TOP_SRCDIR (source tree), DM_CC
# (compiler and flags, default $CC or cc).
set -u
BUILD=${DM_NET_BIN:-.}
SRC=${DM_TOP_SRCDIR:-.}
[ -f "$BUILD/Makefile" ] || { echo "SKIP: no Makefile in $BUILD"; exit 77; }
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: pkg-config needed"; exit 77; }
# The configured compiler and flags (a sanitizer build's library needs them).
CC=${DM_CC:-${CC:-cc}}
I=$(mktemp -d "${TMPDIR:-/tmp}/dminst.XXXXXX")
trap 'rm -rf "$I"' EXIT
die() { echo "FAIL: $*"; FAILED=1; exit 1; }

# A make of our own, not part of the make check that runs us (no jobserver).
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILD" "$@"; }

P=$I/prefix
mk install prefix="$P" > "$I/install.log" 2>&1 || { cat "$I/install.log"; die "make install prefix=$P"; }
for f in bin/dmutexd bin/dmutexctl bin/dmutex-sim lib/libdmutex.a include/dmutex.h \
         lib/pkgconfig/dmutex.pc share/man/man8/dmutexd.8 share/man/man1/dmutexctl.1 \
         share/man/man1/dmutex-sim.1 share/man/man3/libdmutex.3 share/man/man5/dmutex.conf.5 \
         lib/systemd/system/dmutexd.service etc/dmutex/dmutex.conf; do
    [ -e "$P/$f" ] || die "make install prefix=$P did not install $f"
done
echo "ok: make install prefix=... installed binaries, library, header, dmutex.pc, man pages, unit, config"
# The Python client, when configure found a python (AM_PATH_PYTHON): under
# the prefix's site-packages, and runnable from there.
if grep -q '^PYTHON = :$' "$BUILD/Makefile"; then
    echo "note: configured without python: the Python client is not installed"
else
    pyinit=$(find "$P" -path '*/site-packages/dmutex/__init__.py' | head -n 1)
    [ -n "$pyinit" ] || die "make install prefix=$P did not install the Python client (site-packages/dmutex)"
    PYTHONPATH=$(dirname "$(dirname "$pyinit")") python3 -m dmutex --help > "$I/py.help" 2>&1 ||
        { cat "$I/py.help"; die "the installed Python client does not run: PYTHONPATH=... python3 -m dmutex --help"; }
    echo "ok: the Python client installed in ${pyinit%/dmutex/__init__.py} and runs"
fi

grep -q "^ExecStart=$P/bin/dmutexd --config $P/etc/dmutex/dmutex.conf" "$P/lib/systemd/system/dmutexd.service" ||
    die "the unit does not start $P/bin/dmutexd with $P/etc/dmutex/dmutex.conf: $(grep ExecStart "$P/lib/systemd/system/dmutexd.service")"
grep -q '^Type=notify' "$P/lib/systemd/system/dmutexd.service" || die "the unit is not Type=notify"
grep -q '^RuntimeDirectory=dmutex$' "$P/lib/systemd/system/dmutexd.service" || die "the unit has no /run/dmutex"
if command -v systemd-analyze >/dev/null 2>&1; then
    v=$(systemd-analyze verify --man=no "$P/lib/systemd/system/dmutexd.service" 2>&1) ||
        die "systemd-analyze verify: $v"
    [ -z "$v" ] || die "systemd-analyze verify warns: $v"
    echo "ok: systemd-analyze verify accepts the unit"
else
    echo "note: no systemd-analyze: the unit's syntax not checked"
fi
grep -q '^control = /run/dmutex/control.sock$' "$P/etc/dmutex/dmutex.conf" || die "the sample config's control socket is not dmutexctl's default"
grep -q '/run/dmutex/control.sock' "$P/share/man/man1/dmutexctl.1" || die "dmutexctl(1) does not name its default socket"

# pkg-config alone, the installed .pc only.
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
[ "$(pkg-config --variable=prefix dmutex)" = "$P" ] || die "dmutex.pc prefix is $(pkg-config --variable=prefix dmutex), want $P"
[ "$(pkg-config --variable=libdir dmutex)" = "$P/lib" ] || die "dmutex.pc libdir is $(pkg-config --variable=libdir dmutex)"
[ "$(pkg-config --define-variable=prefix=/elsewhere --variable=includedir dmutex)" = /elsewhere/include ] ||
    die "pkg-config --define-variable=prefix does not move includedir: $(pkg-config --define-variable=prefix=/elsewhere --variable=includedir dmutex)"
echo "ok: dmutex.pc names the make-time prefix; --define-variable=prefix= moves it"
# shellcheck disable=SC2046  # pkg-config's output is a list of words
$CC -o "$I/example" "$SRC/tests/net_api_example.c" $(pkg-config --cflags --libs dmutex) > "$I/cc.log" 2>&1 ||
    { cat "$I/cc.log"; die "the example does not build with pkg-config --cflags --libs dmutex"; }
echo "ok: tests/net_api_example.c built with pkg-config --cflags --libs dmutex"

# Run it against the installed daemons (net-lib's helpers, BIN = P/bin).
DM_NET_BIN=$P/bin
. "$SRC/tests/net-lib.sh"
trap 'cleanup; rm -rf "$I"' EXIT
cluster_init 3
start_node 1
start_node 2
timeout 60 "$I/example" "$ADDR3" "$MEMBERS" "$CONF" "$T/api.token" > "$T/log.example" 2>&1 ||
    { FAILED=1; cat "$T/log.example"; die "the installed example failed against the installed dmutexd"; }
grep -q 'all checks passed' "$T/log.example" || { FAILED=1; die "the example did not pass: $(tail -n 3 "$T/log.example")"; }
echo "ok: the installed example ran as the third member of two installed dmutexd (token $(cat "$T/api.token"))"

# DESTDIR: the configured prefix in the files, everything under D.
D=$I/dest
mk install DESTDIR="$D" > "$I/install2.log" 2>&1 || { cat "$I/install2.log"; die "make install DESTDIR=$D"; }
cp=$(sed -n 's/^prefix = //p' "$BUILD/Makefile")
pc=$(find "$D" -name dmutex.pc)
[ -n "$pc" ] && grep -q "^prefix=$cp\$" "$pc" || die "DESTDIR install: $pc does not say prefix=$cp"
grep -q "$D" "$pc" && die "DESTDIR install: $pc names DESTDIR"
[ -x "$D$cp/bin/dmutexd" ] || die "DESTDIR install: no $D$cp/bin/dmutexd"
mk uninstall DESTDIR="$D" > "$I/uninstall.log" 2>&1 || { cat "$I/uninstall.log"; die "make uninstall DESTDIR=$D"; }
left=$(find "$D" -type f)
[ -z "$left" ] || die "make uninstall left: $left"
echo "ok: make install DESTDIR=... keeps the prefix in the files; make uninstall removes everything"
