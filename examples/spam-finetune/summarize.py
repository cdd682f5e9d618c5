#!/usr/bin/env python3
"""Tabulates the spam-finetune runs (WORK_DIR/runs/<init>-<seed>/) into RESULTS.md on standard output."""
import json
import os
import re
import statistics
import struct
import sys


def metrics(run):
    steps = {}
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "loss" in r and r.get("loss") is not None:
                steps[r["step"]] = r
    return steps


def window_loss(steps, at, half=5):
    vals = [steps[s]["loss"] for s in range(at - half, at + half + 1) if s in steps]
    return statistics.mean(vals) if vals else float("nan")


def evaluation(run):
    text = open(os.path.join(run, "eval.txt")).read()
    acc = float(re.search(r"accuracy ([0-9.]+)", text).group(1))
    f1 = float(re.search(r"F1 of class 1 ([0-9.]+)", text).group(1))
    loss = float(re.search(r"loss ([0-9.]+)", text).group(1))
    return loss, acc, f1


def trainable(run):
    path = os.path.join(run, "adapter", "adapter_model.safetensors")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    total = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for d in info["shape"]:
            count *= d
        total += count
    return total


def fmt(values, digits=4):
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main():
    work, budget = sys.argv[1], int(sys.argv[2])
    runs_dir = os.path.join(work, "runs")
    runs = {}
    for name in sorted(os.listdir(runs_dir)):
        run = os.path.join(runs_dir, name)
        if not os.path.isfile(os.path.join(run, "eval.txt")):
            continue
        init, seed = name.rsplit("-", 1)
        runs.setdefault(init, []).append((int(seed), run))
    checkpoints = [s for s in (10, 25, 50, 100, budget) if s <= budget]
    print("# spam-finetune: EVA against other LoRA initialisations on SpamAssassin\n")
    print("Produced by `bash examples/spam-finetune/run.sh` (all numbers below are measured by that run; see README.md"
          " in this folder for the setup).\n")
    print("## Summary (mean ± standard deviation over seeds)\n")
    head = "| init | seeds | " + " | ".join(f"train loss @ {s}" for s in checkpoints)
    print(head + " | test loss | test accuracy | test F1 (spam) | trainable params | wall s (incl. EVA) |")
    print("|" + "---|" * (len(checkpoints) + 7))
    detail = []
    for init in ("eva", "lora", "gaussian", "pissa", "olora"):
        if init not in runs:
            continue
        cols = {s: [] for s in checkpoints}
        tl, ta, tf, wall, params = [], [], [], [], set()
        for seed, run in sorted(runs[init]):
            m = metrics(run)
            for s in checkpoints:
                cols[s].append(window_loss(m, s))
            loss, acc, f1 = evaluation(run)
            w = float(open(os.path.join(run, "wall-seconds")).read())
            tl.append(loss); ta.append(acc); tf.append(f1); wall.append(w)
            params.add(trainable(run))
            detail.append(f"| {init} | {seed} | " + " | ".join(f"{window_loss(m, s):.4f}" for s in checkpoints)
                          + f" | {loss:.4f} | {acc:.4f} | {f1:.4f} | {w:.0f} |")
        print(f"| {init} | {len(runs[init])} | " + " | ".join(fmt(cols[s]) for s in checkpoints)
              + f" | {fmt(tl)} | {fmt(ta)} | {fmt(tf)} | {'/'.join(str(p) for p in sorted(params))} | {fmt(wall, 0)} |")
    print("\nTrain loss @ s is the mean of the per-step training loss over steps s-5..s+5 (the per-step loss of a "
          "batch of 16 is noisy). Trainable parameters count every tensor of the saved adapter (LoRA A and B, "
          "the classification head); a PiSSA adapter is saved converted for the original base weights, with twice "
          "the rank, so its count is larger than what was trained.\n")
    print("## Every run\n")
    print("| init | seed | " + " | ".join(f"@ {s}" for s in checkpoints) + " | test loss | test acc | test F1 | wall s |")
    print("|" + "---|" * (len(checkpoints) + 6))
    for line in detail:
        print(line)
    print("\n![training loss of every run](loss.png)")


if __name__ == "__main__":
    main()
