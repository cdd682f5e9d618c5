#!/usr/bin/env bash
# Builds eva4j's row kernels (eva4j_rows.c) into a shared library resource; run by Maven (generate-resources) as
#   bash src/main/c/build.sh <resource output folder> <report folder> [<classes folder>]
# It writes <resource output folder>/dev/eva4j/cpu/native/<os>-<arch>/libeva4j-rows.so and <report folder>/cc.txt
# (the compiler and its flags). Where no C compiler is found it writes libeva4j-rows.absent instead, holding the reason
# the CPU backend reports, and succeeds: the backend then runs the same kernels in Java (Vector API), with the same
# results, only slower to warm up. A compile error or any warning (-Werror) fails the build. The compiler is
# $EVA4J_CC, else cc, gcc or clang on PATH; EVA4J_CC=none builds without the library.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh <resource output folder> <report folder>}"
report="${2:?usage: build.sh <resource output folder> <report folder>}"
classes="${3:-}"
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
arch="$(uname -m)"
case "$arch" in amd64) arch=x86_64 ;; arm64) arch=aarch64 ;; esac
pkg="$out/dev/eva4j/cpu/native/$os-$arch"
mkdir -p "$pkg" "$report"
lib="$pkg/libeva4j-rows.so"
absent="$pkg/libeva4j-rows.absent"
# Maven copies resources without deleting: drop what an earlier build (with or without a compiler) left in classes
if [[ -n "$classes" ]]; then rm -f "$classes/dev/eva4j/cpu/native/$os-$arch/libeva4j-rows."{so,absent}; fi

cc="${EVA4J_CC:-}"
if [[ "$cc" == none ]]; then
    rm -f "$lib"
    echo "this build has no native row kernels: it was built with EVA4J_CC=none" > "$absent"
    echo "[eva4j cpu] EVA4J_CC=none: native row kernels not built (the Vector API kernels run instead)"
    exit 0
fi
if [[ -z "$cc" ]]; then
    for c in cc gcc clang; do
        if command -v "$c" >/dev/null 2>&1; then cc="$(command -v "$c")"; break; fi
    done
fi
if [[ -z "$cc" ]]; then
    rm -f "$lib"
    echo "this build has no native row kernels: no C compiler was found when it was built (looked at \$EVA4J_CC, cc, gcc and clang; install gcc and rebuild)" > "$absent"
    echo "[eva4j cpu] no C compiler: native row kernels not built (the Vector API kernels run instead)"
    exit 0
fi
rm -f "$absent"

if [[ -f "$lib" && -f "$report/cc.txt" ]]; then
    newer="$(find "$here" -newer "$lib" -type f | head -1)"
    if [[ -z "$newer" ]]; then echo "[eva4j cpu] row kernels up to date: $lib"; exit 0; fi
fi

# no -ffast-math: the kernels must round exactly as the Java ones; -ffp-contract=off keeps a * b + c unfused
flags=(-O3 -std=c11 -fPIC -shared -fvisibility=hidden -ffp-contract=off -fno-math-errno -Wall -Wextra -Werror)
# one clone per x86-64 level (AVX-512, AVX2 + FMA, baseline), picked when the library loads; elsewhere one build
[[ "$arch" == x86_64 ]] || flags+=(-DEVA4J_NO_CLONES)
tmp="$lib.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# GCC is the compiler these kernels are written and tested with: any error or warning of it fails the build. Another
# compiler gets a second try without the per-level clones (not every one has target_clones), and when that fails too
# the build goes on without the library (a note says why; the Vector API kernels run), so an unusual cc never stops a
# user's build.
if "$cc" "${flags[@]}" -o "$tmp" "$here/eva4j_rows.c" -lm 2> "$report/cc-errors.txt"; then
    :
elif "$cc" --version 2>/dev/null | grep -q 'Free Software Foundation'; then # GCC
    cat "$report/cc-errors.txt" >&2
    echo "[eva4j cpu] $cc failed on eva4j_rows.c" >&2
    exit 1
elif "$cc" "${flags[@]}" -DEVA4J_NO_CLONES -o "$tmp" "$here/eva4j_rows.c" -lm 2>> "$report/cc-errors.txt"; then
    flags+=(-DEVA4J_NO_CLONES)
else
    rm -f "$lib"
    echo "this build has no native row kernels: $cc failed on eva4j_rows.c ($(grep -m1 -i error "$report/cc-errors.txt" | cut -c1-200)); build with gcc (EVA4J_CC=gcc)" > "$absent"
    echo "[eva4j cpu] $cc failed on eva4j_rows.c: native row kernels not built (see $report/cc-errors.txt)" >&2
    exit 0
fi
{ "$cc" --version | head -1; echo "${flags[*]} -lm"; } > "$report/cc.txt"
mv "$tmp" "$lib"
trap - EXIT
echo "[eva4j cpu] built $lib ($(stat -c %s "$lib") bytes) with $cc"
