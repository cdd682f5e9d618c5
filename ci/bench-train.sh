#!/usr/bin/env bash
# Training speed against a same-run PyTorch baseline: `eva4j bench train` (all-MiniLM-L6-v2, LoRA r 8 on every linear
# layer, classification, whole AdamW steps at batch 16 x 128) and ci/bench_train_torch.py (the same step in PyTorch
# eager, on Debian's python3-torch over OpenBLAS), interleaved: eva4j, torch, eva4j, torch, ... Prints each run's
# output, then a table: tokens/s of both, their ratio (median of the per-round ratios), and each side's training FLOP
# rate as a share of its own GEMM rate measured in the same process.
#
# Usage: bash ci/bench-train.sh [rounds=2] [threads=all] [coretype=auto]
#   threads   BLAS and compute threads on both sides (OPENBLAS_NUM_THREADS; -XX:ActiveProcessorCount for the JVM,
#             torch.set_num_threads for PyTorch); "all" = the cores this process may use.
#   coretype  OpenBLAS kernel for PyTorch's OpenBLAS. Debian's OpenBLAS (0.3.21 in bookworm) falls back to its
#             Prescott (SSE3) kernels on CPUs newer than it knows, several times slower than the AVX2/AVX-512 ones
#             the CPU has. "auto": if it does, force SkylakeX (AVX-512) or Haswell (AVX2) and say so; "default":
#             leave OpenBLAS's own choice; any other value is passed as OPENBLAS_CORETYPE.
# Installs python3-torch and libopenblas0-pthread with apt-get when missing (needs root). Never needed by tests or CI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

rounds=${1:-2}
threads=${2:-all}
coretype=${3:-auto}
[ "$threads" = all ] && threads=$(nproc)
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ && "$threads" =~ ^[1-9][0-9]*$ ]]; then
  echo "bench-train: rounds and threads must be positive integers (got '$rounds', '$threads')" >&2
  exit 2
fi
python=/usr/bin/python3 # Debian's interpreter: python3-torch is installed for it, not for a pyenv or venv python

missing=()
[ -x "$python" ] && "$python" -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'install ok installed' \
  || missing+=(libopenblas0-pthread)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench-train: needs ${missing[*]} (Debian packages) and is not root: run it as root, or first" \
         "sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  echo "bench-train: installing ${missing[*]} ..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

./eva4j --version >/dev/null # builds the CLI on first use, before anything is timed

# Which OpenBLAS kernel PyTorch's OpenBLAS picks by itself on this CPU.
probe() { OPENBLAS_VERBOSE=2 OPENBLAS_NUM_THREADS=1 "$@" "$python" -c 'import torch; torch.ones(8, 8) @ torch.ones(8, 8)' 2>&1 \
  | sed -n 's/^Core: //p' | tail -n 1; }
torch_core=$(probe env)
torch_env=()
case "$coretype" in
  default) ;;
  auto)
    flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
    if [[ "$torch_core" =~ ^(Prescott|Core2|Penryn|Dunnington|Nehalem|Atom)$ ]]; then
      forced=""
      if [[ " $flags " == *" avx512f "* ]]; then forced=SkylakeX; elif [[ " $flags " == *" avx2 "* ]]; then forced=Haswell; fi
      if [ -n "$forced" ]; then
        echo "bench-train: PyTorch's OpenBLAS picks its $torch_core kernels on this CPU, which has" \
             "$([ "$forced" = SkylakeX ] && echo AVX-512 || echo AVX2); forcing OPENBLAS_CORETYPE=$forced" \
             "for PyTorch (pass 'default' as the third argument to keep OpenBLAS's choice)" >&2
        torch_env=(OPENBLAS_CORETYPE=$forced)
        torch_core="$forced (forced; OpenBLAS's own choice: $torch_core)"
      fi
    fi ;;
  *) torch_env=(OPENBLAS_CORETYPE=$coretype); torch_core="$(probe env OPENBLAS_CORETYPE="$coretype") (forced)" ;;
esac

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
run() { # $1: log file, rest: the command; shows the output as it comes and keeps it
  if ! "${@:2}" 2>&1 | tee "$1"; then
    echo "bench-train: failed: ${*:2}" >&2
    exit 1
  fi
}
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds: eva4j =="
  run "$logs/eva4j.$r" env OPENBLAS_NUM_THREADS="$threads" OPENBLAS_VERBOSE=2 \
    EVA4J_JAVA_OPTS="-XX:ActiveProcessorCount=$threads ${EVA4J_JAVA_OPTS:-}" ./eva4j bench train
  echo "== round $r/$rounds: PyTorch =="
  run "$logs/torch.$r" env "${torch_env[@]}" "$python" ci/bench_train_torch.py --threads "$threads"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
eva4j_core=$(sed -n 's/^Core: //p' "$logs/eva4j.1" | tail -n 1)
torch_version=$("$python" -c 'import torch; print(torch.__version__)')

"$python" - "$logs" "$rounds" "$threads" "$load_before" "$load_after" "${eva4j_core:-unknown}" "$torch_core" \
  "$torch_version" <<'EOF'
import statistics, sys
logs, rounds, threads, before, after, eva4j_core, torch_core, torch_version = sys.argv[1:]
rounds = int(rounds)

def result(path):
    for line in open(path):
        if line.startswith("RESULT "):
            return {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    sys.exit(f"bench-train: no RESULT line in {path}")

e = [result(f"{logs}/eva4j.{r}") for r in range(1, rounds + 1)]
t = [result(f"{logs}/torch.{r}") for r in range(1, rounds + 1)]
rows = [
    ("eva4j tokens/s", [x["eva4j_tokens_per_s"] for x in e], "{:.0f}"),
    ("PyTorch tokens/s", [x["torch_tokens_per_s"] for x in t], "{:.0f}"),
    ("ratio eva4j / PyTorch", [a["eva4j_tokens_per_s"] / b["torch_tokens_per_s"] for a, b in zip(e, t)], "{:.2f}x"),
    ("eva4j training GFLOP/s", [x["eva4j_train_gflops"] for x in e], "{:.1f}"),
    ("eva4j sgemm GFLOP/s", [x["eva4j_sgemm_gflops"] for x in e], "{:.1f}"),
    ("eva4j share of its sgemm", [100 * x["eva4j_train_gflops"] / x["eva4j_sgemm_gflops"] for x in e], "{:.0f}%"),
    ("PyTorch training GFLOP/s", [x["torch_train_gflops"] for x in t], "{:.1f}"),
    ("PyTorch matmul GFLOP/s", [x["torch_sgemm_gflops"] for x in t], "{:.1f}"),
    ("PyTorch share of its matmul", [100 * x["torch_train_gflops"] / x["torch_sgemm_gflops"] for x in t], "{:.0f}%"),
]
print()
print(f"bench train, eva4j vs PyTorch {torch_version}, interleaved in one run: {rounds} rounds, {threads} threads, "
      f"{e[0]['eva4j_step_gflop']:.2f} GFLOP per step")
print(f"OpenBLAS kernels: eva4j {eva4j_core}, PyTorch {torch_core}; load average before {before}, after {after}")
head = ["", *(f"round {r}" for r in range(1, rounds + 1)), "median"]
width = max(len(r[0]) for r in rows)
print(f"{head[0]:<{width}}" + "".join(f"{h:>10}" for h in head[1:]))
for name, values, fmt in rows:
    cells = [fmt.format(v) for v in values] + [fmt.format(statistics.median(values))]
    print(f"{name:<{width}}" + "".join(f"{c:>10}" for c in cells))
ratio = statistics.median(rows[2][1])
share = statistics.median(rows[5][1])
print(f"goals: ratio >= 2x: {'met' if ratio >= 2 else 'not met'} ({ratio:.2f}x); "
      f"eva4j share >= 45%: {'met' if share >= 45 else 'not met'} ({share:.0f}%)")
EOF
