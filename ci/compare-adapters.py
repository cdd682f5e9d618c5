#!/usr/bin/env python3
"""Compares two PEFT LoRA adapter folders written by `eva4j init`: same modules, same ranks, and per module the
subspace similarity of the A rows (the smallest cosine of the principal angles between the two row spaces, 1.0 when
identical) and the largest absolute difference of A. Usage: compare-adapters.py DIR_A DIR_B [min_cosine=0.999]"""
import json, struct, sys
import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"])
    return out


def main():
    a_dir, b_dir = sys.argv[1], sys.argv[2]
    min_cos = float(sys.argv[3]) if len(sys.argv) > 3 else 0.999
    ta = read_safetensors(f"{a_dir}/adapter_model.safetensors")
    tb = read_safetensors(f"{b_dir}/adapter_model.safetensors")
    if sorted(ta) != sorted(tb):
        print("different tensors:", sorted(set(ta) ^ set(tb)))
        return 1
    worst_cos, worst_diff, bad = 1.0, 0.0, 0
    for name in sorted(ta):
        if not name.endswith("lora_A.weight"):
            continue
        x, y = ta[name].astype(np.float64), tb[name].astype(np.float64)
        if x.shape != y.shape:
            print(f"{name}: rank {x.shape[0]} vs {y.shape[0]}")
            bad += 1
            continue
        qx, _ = np.linalg.qr(x.T)
        qy, _ = np.linalg.qr(y.T)
        cos = float(np.linalg.svd(qx.T @ qy, compute_uv=False).min())
        diff = float(np.abs(x - y).max())
        worst_cos, worst_diff = min(worst_cos, cos), max(worst_diff, diff)
        if cos < min_cos:
            print(f"{name}: subspace cosine {cos:.6f}")
            bad += 1
    n = sum(1 for k in ta if k.endswith("lora_A.weight"))
    print(f"{n} modules, ranks {'equal' if bad == 0 else 'DIFFER'}; smallest subspace cosine {worst_cos:.7f}, "
          f"largest |A - A'| {worst_diff:.3g}, bit-identical: {all(np.array_equal(ta[k], tb[k]) for k in ta)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
