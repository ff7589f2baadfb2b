#!/usr/bin/env bash
# scripts/setup.sh -- set dmutex up on a fresh Debian 12 (bookworm) machine:
# install the build dependencies that are missing, build, run the main job.
#
#   scripts/setup.sh              deps, autoreconf (if needed), configure, make, main job
#   scripts/setup.sh --deps-only  only install the missing dependencies
#
# Missing packages are installed with apt-get (apt is skipped entirely when
# nothing is missing): directly as root, through sudo otherwise (asking for
# a password if sudo does). Without root and without sudo, the exact
# apt-get command to run as root is printed and the script exits 1. Run as
# `sudo scripts/setup.sh`, the build and the main job run as the invoking
# user ($SUDO_USER). Environment: CONFIGURE_FLAGS (extra ./configure arguments).
set -euo pipefail

# The main job, run after a successful build: the default simulation.
MAIN_JOB="scripts/main-job.sh"

PACKAGES=(build-essential autoconf automake libtool pkg-config
          libglib2.0-dev libuv1-dev libcunit1-dev gnuplot-nox parallel python3
          groff-base libgnutls28-dev gnutls-bin
          iproute2)   # ip netns, veth, bridge, routes: tests/net-partition.sh

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0"
}

deps_only=0
for arg in "$@"; do
    case $arg in
        --deps-only) deps_only=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "setup.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."

install_deps() {
    if ! command -v dpkg >/dev/null 2>&1; then
        echo "setup.sh: no dpkg here (not Debian?); make sure these are installed:" >&2
        echo "  ${PACKAGES[*]}" >&2
        echo "  (./configure names anything that is missing)" >&2
        return 0
    fi
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "setup.sh: all dependencies are installed"
        return 0
    fi
    local cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
    # Root needs nothing more; another user goes through sudo when there is
    # one (a fresh Debian has no sudo when root's password was set at install).
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "setup.sh: missing packages: ${missing[*]}" >&2
            echo "There is no sudo here: run as root (e.g. after su -):" >&2
            echo "  $cmd" >&2
            echo "(or, as root: scripts/setup.sh --deps-only)" >&2
            exit 1
        fi
        as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
    fi
    echo "setup.sh: installing ${missing[*]}${as_root[*]:+ (through sudo)}"
    "${as_root[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

install_deps
if [ "$deps_only" -eq 1 ]; then
    exit 0
fi

# Under sudo, build and run as the invoking user, so the tree stays theirs
# (and a later scripts/test.sh without sudo can write to it).
as_user() {
    if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
        sudo -u "$SUDO_USER" -- "$@"
    else
        "$@"
    fi
}

if [ ! -x configure ]; then
    as_user autoreconf -fi
fi
# shellcheck disable=SC2086  # CONFIGURE_FLAGS is a list of words
as_user ./configure ${CONFIGURE_FLAGS:-}
as_user make -j"$(nproc)"

echo
echo "setup.sh: running the main job: $MAIN_JOB"
# shellcheck disable=SC2086  # MAIN_JOB is a command line
as_user $MAIN_JOB
