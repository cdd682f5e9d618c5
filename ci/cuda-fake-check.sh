#!/usr/bin/env bash
# Runs eva4j's CUDA code paths end to end on a machine without a GPU, against the test double of the NVIDIA
# libraries (native/cuda/src/test/c/fakecuda.c: host memory as "device" memory; GEMM, syevd and gesvdj compute for
# real). It checks eva4j's side only (bindings, bookkeeping, the SVD backend inside the EVA engine), never NVIDIA's:
#   1. eva4j backends with EVA4J_CUDA_LIBS pointing at the fake libraries (the cuda SVD backend becomes available)
#   2. EVA init from synthetic activations with --svd-backend cuda and with --svd-backend cpu, compared by
#      ci/compare-adapters.py (same ranks, subspace cosine >= 0.999)
# Needs gcc, python3 with numpy, and what ./eva4j needs. Usage: bash ci/cuda-fake-check.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v gcc >/dev/null || { echo "cuda-fake-check: gcc is needed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/libs"
gcc -O1 -shared -fPIC -o "$work/libs/fake.so" native/cuda/src/test/c/fakecuda.c -lm
for n in libcuda.so.1 libcudart.so.13 libnvJitLink.so.13 libcusparse.so.12 libcublasLt.so.13 libcublas.so.13 \
         libcusolver.so.12; do
  cp "$work/libs/fake.so" "$work/libs/$n"
done
export EVA4J_CUDA_LIBS="$work/libs"
./eva4j backends | grep -E '^[* ] +(compute|SVD) backend +cuda'
./eva4j make-activations --out "$work/act" --rows 4000 --dim 64 --files 4 >/dev/null
for svd in cuda cpu; do
  ./eva4j init --activations "$work/act" --backend java --svd-backend "$svd" --rank 4 --out "$work/adapter-$svd" | tail -n 1
done
python3 ci/compare-adapters.py "$work/adapter-cuda" "$work/adapter-cpu" 0.999
