#!/usr/bin/env python3
"""The PyTorch baseline of `eva4j bench train`: the same optimiser step in PyTorch eager, on the CPU.

A BERT encoder with all-MiniLM-L6-v2's shapes (6 layers, hidden 384, 12 heads, intermediate 1536, vocabulary 30522,
512 positions; random frozen weights, as no model hub is reachable here), LoRA as PEFT implements it on every linear
layer of the encoder (`base(x) + lora_B(lora_A(dropout(x))) * scaling`; A kaiming-uniform, B zero; r 8, alpha 16,
dropout 0.05), mean pooling over the attention mask, a 2-class linear head, cross-entropy, backward, gradient-norm
clipping at 1.0 and AdamW (lr 2e-4, betas 0.9/0.999, eps 1e-8, weight decay 0: eva4j's TrainConfig defaults). The
base model's own dropout is off, as in eva4j's training pass; LoRA's dropout is on. Batch 16 x 128 of random token ids
(1000 + [0, 20000), no padding), labels b % 2.

Timed as eva4j times it: whole steps (zero_grad, forward, backward, clip, AdamW step), `--warmup` unmeasured steps,
then the median of `--steps`. The training FLOP count is eva4j's (BenchTrainCommand.trainingFlops, from the shapes),
so both rates count the same work; `torch.matmul` of 1024 x 1024 float32, measured in this process, gives the
share of the machine's GEMM rate that training reaches.

Usage: /usr/bin/python3 ci/bench_train_torch.py [--threads N] [--steps 6] [--warmup 2] [--batch-size 16]
       [--max-length 128] [--rank 8]. The last line is machine-readable: `RESULT torch_tokens_per_s=... ...`.
Needs Debian's python3-torch (ci/bench-train.sh installs it); never needed by tests or CI.
"""
import argparse
import math
import os
import statistics
import sys
import time

# Shapes of all-MiniLM-L6-v2 (sentence-transformers/all-MiniLM-L6-v2, config.json).
VOCAB, POSITIONS, TYPES = 30522, 512, 2
HIDDEN, LAYERS, HEADS, INTERMEDIATE = 384, 6, 12, 1536
LN_EPS = 1e-12


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                   help="torch.set_num_threads and OPENBLAS_NUM_THREADS (default: all cores)")
    p.add_argument("--steps", type=int, default=6, help="measured steps (default: 6)")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured steps first (default: 2)")
    p.add_argument("--batch-size", type=int, default=16, help="sequences per step (default: 16)")
    p.add_argument("--max-length", type=int, default=128, help="tokens per sequence (default: 128)")
    p.add_argument("--rank", type=int, default=8, help="LoRA rank; alpha is 2 x rank (default: 8)")
    a = p.parse_args(argv)
    if a.threads < 1 or a.steps < 1 or a.warmup < 0 or a.batch_size < 1 or a.rank < 1 or not 2 <= a.max_length <= 512:
        p.error("--threads, --steps, --batch-size, --rank >= 1, --warmup >= 0, --max-length in [2, 512]")
    return a


args = parse_args(sys.argv[1:])
# OpenBLAS reads its thread count when it loads, i.e. when torch is imported; torch.set_num_threads does not reach it.
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)

import torch  # noqa: E402  (after the environment is set)
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class LoraLinear(nn.Module):
    """PEFT's LoRA Linear: base(x) + lora_B(lora_A(dropout(x))) * scaling; base frozen, A kaiming-uniform, B zero."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float):
        super().__init__()
        self.base_layer = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.lora_dropout = nn.Dropout(dropout)
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / r

    def forward(self, x):  # x [B, T, in] -> [B, T, out]
        return self.base_layer(x) + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling


def frozen_linear(n_in, n_out):
    lin = nn.Linear(n_in, n_out)
    nn.init.normal_(lin.weight, std=0.02)  # BERT's initializer_range
    nn.init.zeros_(lin.bias)
    return lin


class Layer(nn.Module):
    """One BERT layer as Hugging Face's BertLayer computes it (eager attention, exact-erf GELU), every linear LoRA."""

    def __init__(self, lora):
        super().__init__()
        self.query, self.key, self.value = (lora(frozen_linear(HIDDEN, HIDDEN)) for _ in range(3))
        self.attn_out = lora(frozen_linear(HIDDEN, HIDDEN))  # attention.output.dense
        self.attn_ln = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.inter = lora(frozen_linear(HIDDEN, INTERMEDIATE))  # intermediate.dense
        self.out = lora(frozen_linear(INTERMEDIATE, HIDDEN))  # output.dense
        self.out_ln = nn.LayerNorm(HIDDEN, eps=LN_EPS)

    def heads(self, x):  # [B, T, C] -> [B, H, T, C/H]
        b, t, _ = x.shape
        return x.view(b, t, HEADS, HIDDEN // HEADS).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):  # x [B, T, C], additive_mask [B, 1, 1, T]
        q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HIDDEN // HEADS) + additive_mask  # [B, H, T, T]
        ctx = torch.matmul(scores.softmax(dim=-1), v)  # [B, H, T, C/H]
        ctx = ctx.permute(0, 2, 1, 3).reshape(x.shape)  # [B, T, C]
        x = self.attn_ln(self.attn_out(ctx) + x)
        return self.out_ln(self.out(F.gelu(self.inter(x))) + x)


class LoraBertClassifier(nn.Module):
    def __init__(self, r, alpha, dropout):
        super().__init__()
        lora = lambda base: LoraLinear(base, r, alpha, dropout)  # noqa: E731
        self.word = nn.Embedding(VOCAB, HIDDEN)
        self.position = nn.Embedding(POSITIONS, HIDDEN)
        self.token_type = nn.Embedding(TYPES, HIDDEN)
        for e in (self.word, self.position, self.token_type):
            nn.init.normal_(e.weight, std=0.02)
        self.emb_ln = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.layers = nn.ModuleList(Layer(lora) for _ in range(LAYERS))
        for p in self.parameters():  # the base model, LayerNorms and embeddings included, is frozen
            p.requires_grad_(False)
        for m in self.modules():
            if isinstance(m, LoraLinear):
                m.lora_A.weight.requires_grad_(True)
                m.lora_B.weight.requires_grad_(True)
        self.head = nn.Linear(HIDDEN, 2)  # trainable, as PEFT's modules_to_save

    def forward(self, ids, mask, type_ids):  # ids, mask, type_ids [B, T] -> logits [B, 2]
        t = ids.shape[1]
        pos = torch.arange(t).unsqueeze(0)
        x = self.emb_ln(self.word(ids) + self.position(pos) + self.token_type(type_ids))
        additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, additive)
        m = mask.unsqueeze(-1).float()  # mean pooling over the mask, as sentence-transformers pools
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return self.head(pooled)


def training_flops(b, t, r):
    """eva4j's count (BenchTrainCommand.trainingFlops): per linear layer forward + input gradient (2 x 2 N in out) and
    LoRA's forward and both gradients (3 x 2 N r (in + out)); attention's GEMMs (12 T^2 C per sequence and layer)."""
    n = b * t
    shapes = [(HIDDEN, HIDDEN)] * 4 + [(HIDDEN, INTERMEDIATE), (INTERMEDIATE, HIDDEN)]
    per_layer = sum(4 * n * i * o + 6 * n * r * (i + o) for i, o in shapes) + b * 12.0 * t * t * HIDDEN
    return LAYERS * per_layer


def matmul_gflops(n=1024):
    """torch.matmul of n x n float32 into a preallocated output: GFLOP/s, median of 7 after 2 warm-up."""
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    c = torch.empty(n, n)
    times = []
    for i in range(9):
        t0 = time.perf_counter()
        torch.matmul(a, b, out=c)
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return 2.0 * n ** 3 / statistics.median(times) * 1e-9


def blas_libraries():
    """The BLAS/LAPACK/OpenMP shared objects this process has mapped, and OpenBLAS's own configuration string."""
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "/" in line and any(
            k in line.rsplit("/", 1)[-1] for k in ("blas", "lapack", "gomp", "mkl"))})
    config = ""
    for p in paths:
        if "openblas" in p.rsplit("/", 1)[-1]:
            try:
                import ctypes
                fn = ctypes.CDLL(p).openblas_get_config
                fn.restype = ctypes.c_char_p
                config = fn().decode()
            except (OSError, AttributeError):
                pass
    return paths, config


def main():
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    B, T, r = args.batch_size, args.max_length, args.rank
    N = B * T
    model = LoraBertClassifier(r, 2.0 * r, 0.05).train()
    g = torch.Generator().manual_seed(1)
    ids = 1000 + torch.randint(0, 20000, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    type_ids = torch.zeros(B, T, dtype=torch.long)
    labels = torch.arange(B) % 2
    trainable = [p for p in model.parameters() if p.requires_grad]
    lora_modules = sum(isinstance(m, LoraLinear) for m in model.modules())
    opt = torch.optim.AdamW(trainable, lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    seconds = []
    for s in range(-args.warmup, args.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(ids, mask, type_ids), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        if s >= 0:
            seconds.append(time.perf_counter() - t0)
        if not math.isfinite(loss.item()):
            print(f"bench_train_torch: the loss is {loss.item()} at step {s}", file=sys.stderr)
            return 1
    seconds.sort()
    median = seconds[len(seconds) // 2]  # as eva4j takes it: the upper middle for an even count
    flops = training_flops(B, T, r)
    gemm = matmul_gflops()
    tokens_per_s = N / median
    gflops = flops / median * 1e-9
    libs, config = blas_libraries()

    print(f"bench train (PyTorch {torch.__version__} eager): BERT with all-MiniLM-L6-v2's shapes, PEFT-style LoRA "
          f"r={r} on {lora_modules} linear layers, classification, batch {B} x {T}, {torch.get_num_threads()} threads")
    print(f"  trainable parameters: {sum(p.numel() for p in trainable)}")
    print(f"  whole optimiser steps: median {median:.3f} s (min {seconds[0]:.3f}, max {seconds[-1]:.3f}) "
          f"over {args.steps} steps after {args.warmup} warm-up")
    print(f"  {tokens_per_s:.0f} tokens/s")
    print(f"  training FLOP rate {gflops:.1f} GFLOP/s ({flops * 1e-9:.2f} GFLOP per step, eva4j's count)")
    print(f"  torch.matmul 1024^3 float32 in this run: {gemm:.1f} GFLOP/s; training rate / matmul rate = "
          f"{100 * gflops / gemm:.0f}%")
    print(f"  BLAS: {', '.join(libs) or 'none mapped'}{' (' + config + ')' if config else ''}")
    print(f"RESULT torch_tokens_per_s={tokens_per_s:.1f} torch_train_gflops={gflops:.2f} "
          f"torch_sgemm_gflops={gemm:.2f} torch_step_s={median:.4f} torch_step_gflop={flops * 1e-9:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
