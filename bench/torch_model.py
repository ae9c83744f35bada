"""PyTorch mirror of the fadecast model (crates/fadecast-model/src/model.rs).

A benchmark reference, not the product: it exists to time fadecast against PyTorch on the same
network and to check that both compute the same thing. It loads the safetensors burn writes.

burn conventions mirrored here (burn 0.22.1, checked in its source):
- Linear weights are stored [d_in, d_out] (burn computes x @ W + b); nn.Linear wants [d_out, d_in],
  so they are transposed on load and back on save.
- LayerNorm parameters are `gamma`/`beta`, epsilon 1e-5, biased variance (as torch).
- gelu is the exact erf form (and burn-flex's backward is its exact derivative).
- softplus(x, beta=1) returns x above 20, as torch's default threshold.
- RotaryEncoding: frequencies 10000^(-2i/d) for i < d/2 computed in f32, rotating *interleaved*
  pairs (x[2i], x[2i+1]) by position·freq_i; `apply(x, start)` uses positions start..start+T.
- The causal mask fills future scores with -1e9 (not -inf) after scaling by 1/sqrt(head_dim).
"""

import json
import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

N_SIDE = 4


def read_config(path):
    """ModelConfig from model.json (or the "model" field of a TrainConfig)."""
    cfg = json.loads(Path(path).read_text())
    return cfg.get("model", cfg)


class Rotary(nn.Module):
    """burn's RotaryEncoding: interleaved pairs, theta 10000, f32 tables."""

    def __init__(self, max_positions, head_dim, theta=10000.0):
        super().__init__()
        exponent = torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim
        freq = 1.0 / torch.exp(exponent * math.log(theta))  # [hd/2]
        angles = torch.arange(max_positions, dtype=torch.float32)[:, None] * freq[None, :]  # [L, hd/2]
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def apply(self, x, start):
        """x: [B, H, T, hd] at positions start..start+T."""
        t = x.shape[-2]
        cos, sin = self.cos[start:start + t], self.sin[start:start + t]  # [T, hd/2]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x1 * cos + x0 * sin), dim=-1).flatten(-2)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.query, self.key, self.value, self.out = (nn.Linear(d, d) for _ in range(4))
        self.n_heads, self.window = cfg["n_heads"], cfg["max_context_patches"]

    def forward(self, x, rope, start, cache, layer):
        b, t, d = x.shape
        h, hd = self.n_heads, d // self.n_heads

        def heads(y):
            return y.reshape(b, t, h, hd).transpose(1, 2)  # [B, H, T, hd]

        q = rope.apply(heads(self.query(x)), start)
        k = rope.apply(heads(self.key(x)), start)
        v = heads(self.value(x))
        if cache is not None:
            old = cache.layers[layer]
            if old is not None:
                k = torch.cat((old[0], k), dim=2)  # [B, H, S, hd]
                v = torch.cat((old[1], v), dim=2)
            # Sliding window: at most `window` keys, at least the new ones.
            s = k.shape[2]
            keep = min(s, max(self.window, t))
            k, v = k[:, :, s - keep:], v[:, :, s - keep:]
            cache.layers[layer] = (k, v)
        s = k.shape[2]
        scores = q @ k.transpose(2, 3) / math.sqrt(hd)  # [B, H, T, S]
        # Query i is key s-t+i: it sees keys 0..=s-t+i.
        future = torch.ones(t, s, dtype=torch.bool, device=x.device).triu(s - t + 1)
        scores = scores.masked_fill(future, -1.0e9)
        y = scores.softmax(dim=3) @ v  # [B, H, T, hd]
        return self.out(y.transpose(1, 2).reshape(b, t, d))  # [B, T, D]


class Block(nn.Module):
    """Pre-norm: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.norm_attn = nn.LayerNorm(d, eps=1e-5)
        self.attn = CausalSelfAttention(cfg)
        self.norm_mlp = nn.LayerNorm(d, eps=1e-5)
        self.fc_in = nn.Linear(d, cfg["d_ff"])
        self.fc_out = nn.Linear(cfg["d_ff"], d)

    def forward(self, x, rope, start, cache, layer):
        x = x + self.attn(self.norm_attn(x), rope, start, cache, layer)
        return x + self.fc_out(F.gelu(self.fc_in(self.norm_mlp(x))))  # [B, N, D]


class KvCache:
    """Per layer (k, v), each [B, H, S, hd]; `next_pos` is the rotary position of the next patch."""

    def __init__(self, n_layers):
        self.layers = [None] * n_layers
        self.next_pos = 0

    def select(self, rows):
        """Keeps only batch rows `rows` (a LongTensor), as finished cells leave a batch."""
        self.layers = [None if kv is None else (kv[0].index_select(0, rows), kv[1].index_select(0, rows))
                       for kv in self.layers]


class FadeModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, p, q = cfg["d_model"], cfg["patch_len"], len(cfg["quantiles"])
        m = cfg.get("output_patches", 1)  # patches each position predicts
        self.patch_embed = nn.Linear(p + N_SIDE, d)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg["n_layers"]))
        self.norm_f = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, m * p * q)
        self.proj = nn.Linear(d, cfg["d_proj"])
        self.rope = Rotary(cfg["max_positions"], d // cfg["n_heads"])

    def new_cache(self):
        return KvCache(len(self.blocks))

    def forward(self, patches, side, cache=None):
        """patches [B, N, P], side [B, N, 4] -> (quantiles [B, N, M·P, Q], hidden [B, N, D])."""
        b, n, p = patches.shape
        q, m = len(self.cfg["quantiles"]), self.cfg.get("output_patches", 1)
        start = 0 if cache is None else cache.next_pos
        x = self.patch_embed(torch.cat((patches, side), dim=2))  # [B, N, D]
        for i, block in enumerate(self.blocks):
            x = block(x, self.rope, start, cache, i)
        if cache is not None:
            cache.next_pos += n
        hidden = self.norm_f(x)  # [B, N, D]
        raw = self.head(hidden).reshape(b, n, m * p, q)  # [B, N, M·P, Q]
        if q == 1:
            return raw, hidden
        # Non-crossing: the lowest quantile is free, each next one adds a softplus increment.
        lowest = raw[..., :1]  # [B, N, M·P, 1]
        steps = F.softplus(raw[..., 1:]).cumsum(dim=3)  # [B, N, M·P, Q-1]
        return torch.cat((lowest, lowest + steps), dim=3), hidden

    def embed(self, hidden, valid):
        """Mean of the first valid[b] hidden states, projected, unit norm: [B, d_proj]."""
        b, n, _ = hidden.shape
        v = torch.as_tensor(valid, dtype=torch.float32, device=hidden.device)[:, None]  # [B, 1]
        t = torch.arange(n, dtype=torch.float32, device=hidden.device)[None, :]  # [1, N]
        w = torch.where(t < v, 1.0 / v.clamp_min(1.0), torch.zeros(())).unsqueeze(2)  # [B, N, 1]
        z = self.proj((hidden * w).sum(dim=1))  # [B, d_proj]
        return z / z.square().sum(dim=1, keepdim=True).sqrt().clamp_min(1e-6)


def _is_linear_weight(model, name):
    module = model.get_submodule(name.rsplit(".", 1)[0])
    return isinstance(module, nn.Linear) and name.endswith(".weight")


def _burn_name(name):
    return name.replace(".weight", ".gamma").replace(".bias", ".beta")


def load_weights(model, path):
    """Loads a burn safetensors file; every parameter must be present and nothing extra."""
    tensors = load_file(str(path))
    state = {}
    for name, param in model.named_parameters():
        is_norm = isinstance(model.get_submodule(name.rsplit(".", 1)[0]), nn.LayerNorm)
        key = _burn_name(name) if is_norm else name
        t = tensors.pop(key)
        state[name] = t.t().contiguous() if _is_linear_weight(model, name) else t  # burn: [d_in, d_out]
        assert state[name].shape == param.shape, (name, state[name].shape, param.shape)
    assert not tensors, f"unused tensors: {sorted(tensors)}"
    model.load_state_dict(state, strict=False)  # the rotary tables are buffers, not saved
    return model


def save_weights(model, path):
    """Writes the weights in burn's layout (the inverse of load_weights)."""
    out = {}
    for name, param in model.named_parameters():
        is_norm = isinstance(model.get_submodule(name.rsplit(".", 1)[0]), nn.LayerNorm)
        t = param.detach().t() if _is_linear_weight(model, name) else param.detach()
        out[_burn_name(name) if is_norm else name] = t.contiguous()
    save_file(out, str(path))


def load_model(model_dir):
    """model.json + model.safetensors from a model or run directory."""
    model_dir = Path(model_dir)
    model = FadeModel(read_config(model_dir / "model.json"))
    return load_weights(model, model_dir / "model.safetensors").eval()
