#!/usr/bin/env bash
# The GPU check, one script for one visit to a GPU machine (no JDK, no Maven, no network there): run it from the
# project root with .gpu/ carried (made here by ci/gpu-bundle.sh). Under 8 minutes in all: every step has its own
# timeout and a step is skipped when the remaining budget cannot hold it. Logs go to $OUT (default /tmp/eva4j-gpu).
#   1. device, driver, toolkit and Python package versions; where the CUDA libraries are (pip wheels, ld cache)
#   2. eva4j backends (library discovery as a user sees it)
#   3. the GPU tests (CudaGpuTest with no skip allowed), then every test of the dev.eva4j.cuda package
#   4. same-run benchmarks, eva4j vs PyTorch/PEFT: GEMM 8192^3 TF32 and BF16; one EVA step on MiniLM- and
#      Llama-3.2-1B-sized layer sets; a LoRA training step; EVA init of all-MiniLM-L6-v2 on the bundled mails, GPU vs
#      CPU (ranks and subspace cosine), when the model is in the machine's Hugging Face cache
#   5. compute-sanitizer memcheck on the GPU tests, if time is left and the tool works here
#   6. a short table of every figure and ratio, last
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
OUT=${OUT:-/tmp/eva4j-gpu}
mkdir -p "$OUT"
BUDGET=${EVA4J_GPU_BUDGET:-450}   # seconds for the whole script
results="$OUT/results.txt"
: > "$results"
start=$SECONDS

left() { echo $((BUDGET - (SECONDS - start))); }
# step NAME TIMEOUT COMMAND...: runs with a timeout, logs to $OUT/NAME.log, keeps RESULT lines; skips when the budget is short
step() {
  local name=$1 limit=$2
  shift 2
  if [ "$(left)" -lt $((limit / 2 + 5)) ]; then
    echo "== $name: SKIPPED (budget: $(left) s left, step needs up to $limit s)" | tee -a "$OUT/summary.log"
    echo "SKIP $name budget" >> "$results"
    return 0
  fi
  [ "$limit" -gt "$(left)" ] && limit=$(left)
  echo "== $name (timeout ${limit}s)" | tee -a "$OUT/summary.log"
  local t0=$SECONDS rc
  timeout -k 5 "$limit" "$@" > "$OUT/$name.log" 2>&1
  rc=$?
  grep '^RESULT ' "$OUT/$name.log" >> "$results"
  tail -n 15 "$OUT/$name.log"
  echo "== $name: rc=$rc in $((SECONDS - t0)) s" | tee -a "$OUT/summary.log"
  echo "STEP $name rc=$rc $((SECONDS - t0))s" >> "$results"
  return 0
}

if [ ! -f .gpu/jre.tar.xz ]; then
  echo "gpu-check: .gpu/jre.tar.xz missing: run ci/gpu-bundle.sh before and carry .gpu" >&2
  exit 2
fi
jre_dir=${EVA4J_JRE_DIR:-/tmp/eva4j-gpu-jre}
rm -rf "$jre_dir" && mkdir -p "$jre_dir" && tar xJf .gpu/jre.tar.xz -C "$jre_dir"
JAVA="$jre_dir/jre/bin/java"
CP="$root/.gpu/lib/*"
J=("$JAVA" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xss4m -cp "$CP")

# 1. the machine
step env 40 bash -c '
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv || nvidia-smi
  (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>&1 | tail -n 2
  python3 -c "import torch, peft, sys; print(\"python\", sys.version.split()[0], \"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"peft\", peft.__version__)"
  python3 -c "import nvidia, os; d = os.path.dirname(nvidia.__path__[0]); print(\"site-packages:\", d)
for root, dirs, files in os.walk(os.path.join(d, \"nvidia\")):
    libs = sorted(f for f in files if f.startswith((\"libcublas\", \"libcusolver\", \"libcudart\", \"libnvJitLink\")))
    if libs: print(root, libs)"
  ldconfig -p | grep -E "cublas|cusolver|libcuda\.|nvJitLink" || echo "(none in the ld cache)"
  '"$JAVA"' -version 2>&1 | head -n 1'

# 2. discovery as a user sees it
step backends 60 "${J[@]}" dev.eva4j.cli.Main backends

# 3. tests
step gpu-tests 150 "${J[@]}" dev.eva4j.cuda.GpuTestMain --no-skips dev.eva4j.cuda.CudaGpuTest
step all-cuda-tests 150 "${J[@]}" dev.eva4j.cuda.GpuTestMain dev.eva4j.cuda

# 4. benchmarks, ours then the peer, in the same run
step gemm-eva4j 60 "${J[@]}" dev.eva4j.cuda.bench.CudaBench gemm 8192 10
step gemm-torch 60 python3 ci/gpu_peers.py gemm 8192 10
step eva-minilm-eva4j 45 "${J[@]}" dev.eva4j.cuda.bench.CudaBench eva minilm 2048 32 5
step eva-minilm-peft 45 python3 ci/gpu_peers.py eva minilm 2048 32 5
step eva-llama1b-eva4j 100 "${J[@]}" -Xmx8g dev.eva4j.cuda.bench.CudaBench eva llama1b 2048 32 3
step eva-llama1b-peft 60 python3 ci/gpu_peers.py eva llama1b 2048 32 3
step train-torch 60 python3 ci/gpu_peers.py train 16 128 6
step train-eva4j 90 "${J[@]}" dev.eva4j.cli.Main bench train --backend cuda --batch-size 16 --max-length 128 --steps 6
awk '/whole optimiser steps: median/ { for (i = 1; i <= NF; i++) if ($i == "median") printf "RESULT train_step_ms %.2f ms\n", $(i + 1) * 1000 }' \
  "$OUT/train-eva4j.log" >> "$results" 2>/dev/null

minilm=$(timeout 30 python3 -c "from huggingface_hub import snapshot_download as s; print(s('sentence-transformers/all-MiniLM-L6-v2', local_files_only=True))" 2>/dev/null | tail -n 1)
if [ -n "$minilm" ] && [ -d "$minilm" ]; then
  mails=cli/src/main/resources/dev/eva4j/cli/demo/spamassassin-512.jsonl
  # the GPU side: the cuda compute backend when this build has its kernels, else the CPU forward with the cuda SVDs
  gpu_backend=java
  grep -qE 'compute backend +cuda +[0-9]+ +available' "$OUT/backends.log" && gpu_backend=cuda
  step minilm-init-cpu 100 "${J[@]}" dev.eva4j.cli.Main init --model "$minilm" --data "$mails" --backend java \
    --svd-backend cpu --rank 8 --rho 2 --out "$OUT/adapter-cpu"
  step minilm-init-gpu 100 "${J[@]}" dev.eva4j.cli.Main init --model "$minilm" --data "$mails" --backend "$gpu_backend" \
    --svd-backend cuda --rank 8 --rho 2 --out "$OUT/adapter-gpu"
  echo "minilm GPU run: --backend $gpu_backend --svd-backend cuda" >> "$OUT/summary.log"
  step minilm-compare 30 python3 ci/compare-adapters.py "$OUT/adapter-gpu" "$OUT/adapter-cpu" 0.99
else
  echo "== minilm: SKIPPED (all-MiniLM-L6-v2 is not in this machine's Hugging Face cache)" | tee -a "$OUT/summary.log"
  echo "SKIP minilm-init no-model" >> "$results"
fi

# 5. memcheck, last (it may not work on every runtime)
if command -v compute-sanitizer >/dev/null 2>&1; then
  step memcheck 120 compute-sanitizer --tool memcheck --target-processes all --print-limit 20 \
    "${J[@]}" dev.eva4j.cuda.GpuTestMain dev.eva4j.cuda.CudaGpuTest
else
  echo "SKIP memcheck no-compute-sanitizer" >> "$results"
fi

# 6. the table
python3 - "$results" <<'PY' | tee "$OUT/table.txt"
import re, sys
r, steps = {}, []
for line in open(sys.argv[1]):
    p = line.split()
    if p[0] == "RESULT":
        r[p[1]] = float(p[2])
    else:
        steps.append(" ".join(p[1:]))
def ratio(name, ours, peer, higher_is_better, goal):
    if ours in r and peer in r:
        x = r[ours] / r[peer] if higher_is_better else r[peer] / r[ours]
        print(f"{name:34s} eva4j {r[ours]:10.2f}  peer {r[peer]:10.2f}  ratio {x:6.2f}  (goal >= {goal}) {'met' if x >= goal else 'NOT met'}")
    else:
        print(f"{name:34s} not measured ({'eva4j' if ours not in r else 'peer'} missing)")
print("== eva4j on the GPU vs the peers (same run)")
ratio("GEMM 8192^3 TF32, TFLOP/s", "gemm_tf32_8192_tflops", "torch_gemm_tf32_8192_tflops", True, 0.8)
ratio("GEMM 8192^3 BF16, TFLOP/s", "gemm_bf16_8192_tflops", "torch_gemm_bf16_8192_tflops", True, 0.8)
ratio("EVA step MiniLM (lowrank), ms", "eva_minilm_lowrank_step_ms", "peft_ipca_minilm_step_ms", False, 2.0)
ratio("EVA step MiniLM (warm), ms", "eva_minilm_warm_step_ms", "peft_ipca_minilm_step_ms", False, 2.0)
ratio("EVA step Llama-1B (lowrank), ms", "eva_llama1b_lowrank_step_ms", "peft_ipca_llama1b_step_ms", False, 2.0)
ratio("EVA step Llama-1B (warm), ms", "eva_llama1b_warm_step_ms", "peft_ipca_llama1b_step_ms", False, 2.0)
ratio("LoRA train step, ms", "train_step_ms", "torch_peft_train_step_ms", False, 1.0)
print("== steps")
for s in steps:
    print("  " + s)
PY
echo "logs: $OUT (summary.log, results.txt, table.txt, one log per step)"
