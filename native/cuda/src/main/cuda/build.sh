#!/usr/bin/env bash
# Builds eva4j's CUDA kernels into one fatbin resource; run by Maven (generate-resources) as
#   bash src/main/cuda/build.sh <resource output folder> <report folder>
# It writes <resource output folder>/dev/eva4j/cuda/eva4j-kernels.fatbin (sm_80 and sm_90 code, compute_90 PTX) and
# <report folder>/resource-usage.txt (registers, spills, shared memory per kernel and architecture). Where nvcc is not
# found it writes dev/eva4j/cuda/eva4j-kernels.absent instead, holding the reason the backend reports, and succeeds:
# the build passes everywhere, and only a machine with nvcc makes kernels. A compile error, a warning (-Werror) or a
# register spill fails the build. nvcc is looked up as $EVA4J_NVCC, then on PATH, then under /usr/local/cuda*/bin.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh <resource output folder> <report folder>}"
report="${2:?usage: build.sh <resource output folder> <report folder>}"
pkg="$out/dev/eva4j/cuda"
mkdir -p "$pkg" "$report"
fatbin="$pkg/eva4j-kernels.fatbin"
absent="$pkg/eva4j-kernels.absent"

nvcc="${EVA4J_NVCC:-}"
if [[ -z "$nvcc" ]]; then nvcc="$(command -v nvcc || true)"; fi
if [[ -z "$nvcc" ]]; then
    for c in /usr/local/cuda/bin/nvcc /usr/local/cuda-*/bin/nvcc; do
        if [[ -x "$c" ]]; then nvcc="$c"; break; fi
    done
fi
if [[ -z "$nvcc" || ! -x "$nvcc" ]]; then
    rm -f "$fatbin"
    echo "this build has no CUDA kernels: nvcc was not found when it was built (looked at \$EVA4J_NVCC, PATH and /usr/local/cuda*/bin; install the CUDA toolkit and rebuild)" > "$absent"
    echo "[eva4j cuda] nvcc not found: no kernels built (the cuda backend will say so)"
    exit 0
fi
rm -f "$absent"

# up to date: nothing to do when the fatbin is newer than every source and this script
if [[ -f "$fatbin" && -f "$report/resource-usage.txt" ]]; then
    newer="$(find "$here" -newer "$fatbin" -type f | head -1)"
    if [[ -z "$newer" ]]; then echo "[eva4j cuda] kernels up to date: $fatbin"; exit 0; fi
fi

tmp="$fatbin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# -Werror all-warnings: any warning of nvcc, cudafe or ptxas fails; -warn-spills / -warn-lmem-usage make a register
# spill or local memory a warning (so an error). Double-precision use is intended (float64 accumulation).
"$nvcc" -fatbin -O3 -std=c++17 \
    -gencode arch=compute_80,code=sm_80 \
    -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90 \
    --resource-usage -Xptxas -warn-spills,-warn-lmem-usage -Werror all-warnings \
    -o "$tmp" "$here/eva4j_kernels.cu" > "$report/resource-usage.txt.tmp" 2>&1 || {
        cat "$report/resource-usage.txt.tmp" >&2
        echo "[eva4j cuda] nvcc failed ($nvcc)" >&2
        exit 1
    }
"$nvcc" --version | tail -2 > "$report/nvcc-version.txt"
mv "$report/resource-usage.txt.tmp" "$report/resource-usage.txt"
mv "$tmp" "$fatbin"
trap - EXIT
entries=$(grep -c "Compiling entry function" "$report/resource-usage.txt" || true)
echo "[eva4j cuda] built $fatbin ($(stat -c %s "$fatbin") bytes, $entries kernel compilations) with $nvcc"
