#!/usr/bin/env bash
# Fetches the FAISS source tree matching the installed libfaiss-dev into subprojects/faiss-src,
# for its c_api/ sources: Debian ships libfaiss-dev without the compiled C API, and the build
# compiles it (plugin/meson.build). Idempotent: a tree already fetched for the installed version
# is kept. Adds a deb-src entry for the system's Debian release when none exists (needs root).
#
#   bash scripts/fetch-faiss-src.sh [DEST]        (DEST defaults to subprojects/faiss-src)
set -euo pipefail
cd "$(dirname "$0")/.."

dest=${1:-subprojects/faiss-src}
stamp="$dest/.faiss-source-version"

fail() { echo "fetch-faiss-src: $*" >&2; exit 1; }

version=$(dpkg-query -W -f='${source:Version}' libfaiss-dev 2>/dev/null || true)
[ -n "$version" ] || fail "libfaiss-dev is not installed (apt-get install libfaiss-dev), so there is no FAISS version to match"

if [ -f "$dest/c_api/Index_c.cpp" ]; then
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ]; then
        exit 0
    fi
    if [ ! -f "$stamp" ]; then
        # A tree put there by hand: use it as it is.
        echo "fetch-faiss-src: keeping $dest (not fetched by this script)" >&2
        exit 0
    fi
    echo "fetch-faiss-src: $dest holds faiss $(cat "$stamp"), installed is $version: fetching again" >&2
    rm -rf "$dest"
fi

command -v dpkg-source >/dev/null || fail "dpkg-source is missing (apt-get install dpkg-dev)"

# apt-get source needs a deb-src entry; a fresh Debian image has only binary ones.
has_deb_src() {
    grep -rqsE '^[[:space:]]*deb-src[[:space:]]|^[[:space:]]*Types:.*deb-src' \
        /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}
if ! has_deb_src; then
    [ "$(id -u)" -eq 0 ] || fail "no deb-src entry in /etc/apt and not root: add one (Types: deb-src) or run as root"
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || fail "cannot tell the Debian release from /etc/os-release"
    echo "fetch-faiss-src: adding /etc/apt/sources.list.d/mvke-deb-src.sources ($codename)" >&2
    cat > /etc/apt/sources.list.d/mvke-deb-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -q >/dev/null || fail "apt-get update failed after adding the deb-src entry"
fi

mkdir -p "$(dirname "$dest")"
work=$(mktemp -d "$(dirname "$dest")/.faiss-src.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "fetch-faiss-src: apt-get source faiss=$version" >&2
if ! (cd "$work" && apt-get source -q "faiss=$version" >log 2>&1); then
    if [ "$(id -u)" -eq 0 ] && (cd "$work" && apt-get update -q >/dev/null 2>&1 &&
                                 apt-get source -q "faiss=$version" >log 2>&1); then
        :
    else
        tail -5 "$work/log" >&2 || true
        fail "apt-get source faiss=$version failed: is the source of the installed version still in the archive?"
    fi
fi
tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'faiss-*' | head -n 1)
[ -n "$tree" ] && [ -f "$tree/c_api/Index_c.cpp" ] || fail "the fetched source has no c_api/Index_c.cpp"
echo "$version" > "$tree/.faiss-source-version"
mv "$tree" "$dest"
echo "fetch-faiss-src: faiss $version sources in $dest" >&2
