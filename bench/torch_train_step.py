"""PyTorch mirror of one fadecast training step (crates/fadecast-model/src/train.rs), for
benchmarking against `bench_train_step`. Not the product.

    torch_train_step.py --init out/bench/train_init.safetensors \
        --batch-json out/bench/train_batch.json --threads 2

Runs the batch's `steps` optimisation steps on that one batch, from the same initial weights:
forward, pinball loss weighted by the mask, InfoNCE with the given positive/negative matrices,
total = forecast + λ·nce, backward, per-parameter gradient clipping, AdamW at a constant learning
rate. The first step is a warm-up and is not timed. Prints one JSON line, with the largest
difference from the Rust per-step losses.

burn conventions mirrored: `GradientClippingConfig::Norm(c)` clips each parameter's gradient to
L2 norm c on its own (coefficient c / (‖g‖ + f32::MIN_POSITIVE), capped at 1), not the global
norm; AdamWConfig defaults are betas (0.9, 0.999) and epsilon 1e-5 (torch's is 1e-8), with
decoupled weight decay p ← p·(1 − lr·wd) − lr·m̂/(√v̂ + ε) on every parameter (as torch AdamW).
"""

import argparse
import json
import time

import numpy as np
import torch

from torch_model import FadeModel, load_weights

F32_MIN_POSITIVE = float(np.finfo(np.float32).tiny)


def pinball_loss(pred, target, mask, quantiles):
    """pred [B, N, M·P, Q], target [B, N, M·P], mask [B, N, M] (weights; 0 = not scored) -> scalar."""
    b, n, mp, q = pred.shape
    m = mask.shape[2]
    p = mp // m
    tau = torch.tensor(quantiles, dtype=torch.float32).reshape(1, 1, 1, q)
    diff = target.unsqueeze(3) - pred  # [B, N, M·P, Q]: y − ŷ
    loss = diff.relu() * tau + (-diff).relu() * (1.0 - tau)
    weights = mask.reshape(b, n, m, 1).expand(b, n, m, p).reshape(b, n, mp, 1)
    return (loss * weights).sum() / (mask.sum().clamp_min(1e-9) * (p * q))


def info_nce(z, pos, neg, anchors, temperature):
    """InfoNCE over unit-norm z [B, E]; pos/neg [B, B] 0/1 matrices -> scalar."""
    logits = z @ z.t() / temperature  # [B, B]
    candidates = pos + neg  # 1 where the softmax runs
    masked = logits * candidates + (candidates - 1.0) * 1.0e9
    top = masked.max(dim=1, keepdim=True).values.detach()  # [B, 1], for a stable log-sum-exp
    lse = ((masked - top).exp() * candidates).sum(dim=1, keepdim=True).clamp_min(1e-30).log() + top
    pos_logit = (logits * pos).sum(dim=1, keepdim=True)
    is_anchor = pos.sum(dim=1, keepdim=True)
    return ((lse - pos_logit) * is_anchor).sum() / max(anchors, 1)


@torch.no_grad()
def clip_per_parameter(params, max_norm):
    """burn's GradientClipping::Norm: each gradient clipped to `max_norm` separately."""
    for p in params:
        coef = (max_norm / (p.grad.square().sum().sqrt() + F32_MIN_POSITIVE)).clamp_max(1.0)
        p.grad.mul_(coef)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--init", default="out/bench/train_init.safetensors")
    ap.add_argument("--batch-json", default="out/bench/train_batch.json")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=0, help="override the batch file's step count")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    data = json.load(open(args.batch_json))
    cfg = data["config"]
    mc = cfg["model"]
    model = load_weights(FadeModel(mc), args.init).train()
    valid = data["valid"]
    b, n, p, m = len(valid), mc["max_context_patches"], mc["patch_len"], mc.get("output_patches", 1)

    def tensor(key, *shape):
        return torch.tensor(data[key], dtype=torch.float32).reshape(*shape)

    x, side, target = tensor("input", b, n, p), tensor("side", b, n, 4), tensor("target", b, n, m * p)
    mask, pos, neg = tensor("mask", b, n, m), tensor("positive", b, b), tensor("negative", b, b)
    use_nce = cfg["contrastive_weight"] > 0 and data["anchors"] > 0
    params = list(model.parameters())
    optim = torch.optim.AdamW(params, lr=data["lr"], betas=(0.9, 0.999), eps=1e-5,
                              weight_decay=cfg["weight_decay"])

    steps = args.steps or data["steps"]
    losses, timed = [], 0.0
    for step in range(max(steps, 2)):
        started = time.perf_counter()
        quantiles, hidden = model(x, side)  # [B, N, M·P, Q], [B, N, D]
        loss = pinball_loss(quantiles, target, mask, mc["quantiles"])
        if use_nce:
            nce = info_nce(model.embed(hidden, valid), pos, neg, data["anchors"], cfg["temperature"])
            loss = loss + nce * cfg["contrastive_weight"]
        losses.append(loss.item())
        optim.zero_grad(set_to_none=True)
        loss.backward()
        clip_per_parameter(params, cfg["grad_clip_norm"])
        optim.step()
        if step > 0:
            timed += time.perf_counter() - started

    rust = data.get("losses") or []
    common = min(len(rust), len(losses))
    print(json.dumps({
        "steps": len(losses) - 1, "seconds_per_step": timed / (len(losses) - 1), "threads": args.threads,
        "batch": b, "losses": losses,
        "max_loss_diff_vs_rust": max((abs(a - r) for a, r in zip(losses, rust)), default=None) if common else None,
    }))


if __name__ == "__main__":
    main()
