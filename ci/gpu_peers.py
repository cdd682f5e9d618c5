#!/usr/bin/env python3
"""The PyTorch/PEFT side of ci/gpu-check.sh's same-run comparison. Prints `RESULT <name> <value> <unit>` lines.

  gpu_peers.py gemm [n=8192] [reps=10]      torch.matmul, TF32 (fp32 inputs) and BF16, CUDA-event medians
  gpu_peers.py eva minilm|llama1b [rows=2048] [k=32] [steps=5]
                                            PEFT's IncrementalPCA (peft.utils.incremental_pca, lowrank=True, the
                                            one PEFT's EVA uses) on random rows already on the GPU, one partial_fit
                                            per layer group per step
  gpu_peers.py train [batch=16] [len=128] [steps=6]
                                            one LoRA training step (r=8 on every linear layer, AdamW) of a
                                            MiniLM-sized BERT (random weights) with a classification head, eager
The layer sets match dev.eva4j.cuda.bench.CudaBench: MiniLM (6 layers: q k v o up in=384, down in=1536) and
Llama-3.2-1B (16 layers: q k v o gate up in=2048, down in=8192).
"""
import statistics
import sys
import time

import torch


def events_ms(fn, reps, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn()
        e.record()
        e.synchronize()
        out.append(s.elapsed_time(e))
    return statistics.median(out)


def gemm(n=8192, reps=10):
    g = torch.Generator(device="cuda").manual_seed(1)
    a = torch.rand(n, n, device="cuda", generator=g) * 2 - 1
    b = torch.rand(n, n, device="cuda", generator=g) * 2 - 1
    flops = 2.0 * n ** 3
    torch.backends.cuda.matmul.allow_tf32 = True
    t = events_ms(lambda: torch.matmul(a, b), reps)
    print(f"RESULT torch_gemm_tf32_{n}_tflops {flops / (t * 1e-3) / 1e12:.2f} TFLOP/s")
    torch.backends.cuda.matmul.allow_tf32 = False
    a16, b16 = a.bfloat16(), b.bfloat16()
    t = events_ms(lambda: torch.matmul(a16, b16), reps)
    print(f"RESULT torch_gemm_bf16_{n}_tflops {flops / (t * 1e-3) / 1e12:.2f} TFLOP/s")


def dims(preset):
    if preset == "minilm":
        return [384, 384, 384, 384, 384, 1536] * 6
    if preset == "llama1b":
        return [2048] * 6 * 16 + [8192] * 16
    raise SystemExit(f"preset must be minilm or llama1b, got {preset!r}")


def eva(preset="minilm", rows=2048, k=32, steps=5):
    from peft.utils.incremental_pca import IncrementalPCA
    ds = dims(preset)
    g = torch.Generator(device="cuda").manual_seed(7)
    data = [torch.randn(rows, d, device="cuda", generator=g) for d in ds]
    ipcas = [IncrementalPCA(n_components=k, copy=True, lowrank=True, lowrank_seed=0) for _ in ds]
    for p, x in zip(ipcas, data):  # the first partial_fit initialises; EVA's steady state is the later ones
        p.partial_fit(x)
    torch.cuda.synchronize()
    out = []
    for _ in range(steps):
        t0 = time.perf_counter()
        for p, x in zip(ipcas, data):
            p.partial_fit(x)
        torch.cuda.synchronize()
        out.append((time.perf_counter() - t0) * 1e3)
    print(f"RESULT peft_ipca_{preset}_step_ms {statistics.median(out):.2f} ms ({len(ds)} layer groups, {rows} rows, k={k})")


def train(batch=16, length=128, steps=6):
    from peft import LoraConfig, get_peft_model
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                     intermediate_size=1536, max_position_embeddings=512, num_labels=2)
    model = BertForSequenceClassification(cfg).cuda()
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=8, lora_dropout=0.0,
                                             target_modules=["query", "key", "value", "dense"],
                                             modules_to_save=["classifier"]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, 30522, (batch, length), device="cuda")
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 2, (batch,), device="cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        opt.step()

    t = events_ms(step, steps, warmup=2)
    print(f"RESULT torch_peft_train_step_ms {t:.2f} ms (batch {batch} x {length}, r=8, fp32 eager)")
    print(f"RESULT torch_peft_train_tokens_per_s {batch * length / (t * 1e-3):.0f} tokens/s")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    what, rest = sys.argv[1], sys.argv[2:]
    if what == "gemm":
        gemm(*map(int, rest))
    elif what == "eva":
        eva(rest[0] if rest else "minilm", *map(int, rest[1:]))
    elif what == "train":
        train(*map(int, rest))
    else:
        raise SystemExit(f"unknown peer benchmark {what!r}")


if __name__ == "__main__":
    main()
