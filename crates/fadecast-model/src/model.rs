//! The universal fade model, whole, in one file: a Timer-style decoder-only transformer over
//! patches of a normalised SOH series.
//!
//! ```text
//!  SOH on a cycle grid ─┬─ split into patches of P points ─┐
//!  context statistics ──┘  (+ spacing, level, scale, age)  ├─ patch embedding ─▶ N causal blocks
//!                                                          │        ─▶ final norm ─▶ quantile head
//!                                                          │                   (next M patches)
//!                                                          └─ mean-pooled hidden ─▶ projection
//!                                                                 (contrastive loss, training only)
//! ```
//!
//! Every position predicts the *next* patch (P points × Q quantiles), so one forward pass over N
//! patches trains every context length from one patch to N at once, and a right-padded window
//! needs no attention mask: causal attention never lets a real position see the padding. With
//! `output_patches` M > 1 each position predicts the next M patches at once (a longer output
//! than input patch, as in TimesFM), so a rollout takes M times fewer autoregressive steps and
//! feeds back its own predictions M times less often.
//!
//! Positions are rotary (RoPE), so attention depends on relative patch distance only; that is
//! what lets the KV cache be trimmed to a sliding window during long autoregressive rollouts.

use burn::module::{Module, ModuleMapper, Param};
use burn::nn::{
    LayerNorm, LayerNormConfig, Linear, LinearConfig, RotaryEncoding, RotaryEncodingConfig,
};
use burn::tensor::activation::{gelu, softmax, softplus};
use burn::tensor::{Bool, DType, Device, Element, FloatDType, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Number of per-patch side channels concatenated to the P normalised values; see [`side_channels`].
pub const N_SIDE: usize = 4;

/// Architecture and input conventions. Saved beside the weights (`config.json` of a run), so a
/// checkpoint can always be rebuilt exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Grid points per patch.
    pub patch_len: usize,
    pub d_model: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    /// Hidden width of each block's MLP.
    pub d_ff: usize,
    /// Longest context, in patches, the model attends to (training windows are this + 1 patches;
    /// longer histories are cut to their last `max_context_patches`).
    pub max_context_patches: usize,
    /// Size of the rotary table: context + rollout patches of one forecast may not exceed it.
    pub max_positions: usize,
    /// Predicted quantile levels, strictly increasing; must contain 0.5.
    pub quantiles: Vec<f64>,
    /// Floor on the per-series scale (SOH units): a flat, noisy early-life context would otherwise
    /// be blown up to unit variance and its noise read as trend.
    pub min_scale: f64,
    /// Width of the contrastive projection head (training only).
    pub d_proj: usize,
    /// Feed the cell's age (the cycle number where each patch starts) as a side channel. Off, the
    /// channel is held at 0 and the model sees only the shape, level, scale and spacing.
    pub age_channel: bool,
    /// Patches each position predicts (M): the next one (1, Timer's next-patch prediction) or the
    /// next M, directly, each with its quantiles.
    pub output_patches: usize,
}

impl Default for ModelConfig {
    /// Sized for 2 CPU cores: about 0.2 M parameters, an epoch of the corpus in minutes.
    fn default() -> Self {
        Self {
            patch_len: 16,
            d_model: 96,
            n_layers: 3,
            n_heads: 4,
            d_ff: 256,
            max_context_patches: 32,
            max_positions: 2048,
            quantiles: vec![0.1, 0.5, 0.9],
            min_scale: 0.01,
            d_proj: 32,
            age_channel: true,
            output_patches: 1,
        }
    }
}

impl ModelConfig {
    /// Index of the median in [`ModelConfig::quantiles`].
    pub fn median_index(&self) -> usize {
        self.quantiles.iter().position(|&q| (q - 0.5).abs() < 1e-9).expect("validated: has 0.5")
    }

    pub fn validate(&self) -> Result<(), String> {
        let q = &self.quantiles;
        if q.is_empty() || q.windows(2).any(|w| w[0] >= w[1]) || q.iter().any(|&v| v <= 0.0 || v >= 1.0) {
            return Err(format!("quantiles must be strictly increasing in (0, 1), got {q:?}"));
        }
        if !q.iter().any(|&v| (v - 0.5).abs() < 1e-9) {
            return Err("quantiles must include 0.5 (the rollout follows the median)".into());
        }
        if !self.d_model.is_multiple_of(self.n_heads) || !(self.d_model / self.n_heads).is_multiple_of(2) {
            return Err(format!(
                "d_model ({}) must split into n_heads ({}) heads of even width (rotary encoding)",
                self.d_model, self.n_heads
            ));
        }
        if self.patch_len == 0 || self.max_context_patches == 0 || self.n_layers == 0 || self.output_patches == 0 {
            return Err("patch_len, max_context_patches, n_layers and output_patches must be positive".into());
        }
        if self.max_positions <= self.max_context_patches {
            return Err("max_positions must exceed max_context_patches".into());
        }
        if self.min_scale.is_nan() || self.min_scale <= 0.0 {
            return Err("min_scale must be positive".into());
        }
        Ok(())
    }

    /// Builds a freshly initialised model (weights from the device's seeded RNG).
    pub fn init(&self, device: &Device) -> FadeModel {
        self.validate().expect("invalid model config");
        let (d, p, q, m) = (self.d_model, self.patch_len, self.quantiles.len(), self.output_patches);
        FadeModel {
            patch_embed: LinearConfig::new(p + N_SIDE, d).init(device),
            blocks: (0..self.n_layers).map(|_| Block::new(self, device)).collect(),
            norm_f: LayerNormConfig::new(d).init(device),
            head: LinearConfig::new(d, m * p * q).init(device),
            proj: LinearConfig::new(d, self.d_proj).init(device),
            rope: RotaryEncodingConfig::new(self.max_positions, d / self.n_heads).init(device),
            config: self.clone(),
        }
    }
}

// ───────────────────────────── normalisation and inputs ─────────────────────────────

/// Per-series location and scale, computed on the context only (never on what is predicted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesNorm {
    pub loc: f64,
    pub scale: f64,
}

impl SeriesNorm {
    /// Mean and (floored) standard deviation of the context values.
    pub fn from_context(context: &[f64], min_scale: f64) -> Self {
        let n = context.len().max(1) as f64;
        let loc = context.iter().sum::<f64>() / n;
        let var = context.iter().map(|v| (v - loc).powi(2)).sum::<f64>() / n;
        Self { loc, scale: var.sqrt().max(min_scale) }
    }
    pub fn normalise(&self, v: f64) -> f64 {
        (v - self.loc) / self.scale
    }
    pub fn denormalise(&self, z: f64) -> f64 {
        z * self.scale + self.loc
    }
}

/// The side channels of one patch, all known without looking past the origin: the grid spacing
/// (so check-up data at 50-cycle steps is not mistaken for per-cycle data), the context's level and
/// scale (normalisation removes them, yet fade speeds up as SOH falls), and the cell's age at the
/// patch start (`None`: 0, for models without [`ModelConfig::age_channel`]). Each is squashed to
/// roughly [-2, 2].
pub fn side_channels(spacing: f64, norm: &SeriesNorm, patch_start_cycle: Option<f64>) -> [f32; N_SIDE] {
    [
        (spacing.max(1e-3).ln() / 5.0) as f32,
        ((norm.loc - 0.9) * 5.0) as f32,
        (norm.scale.ln() / 5.0 + 0.5) as f32,
        patch_start_cycle.map_or(0.0, |c| ((1.0 + c.max(0.0)).ln() / 8.0) as f32),
    ]
}

/// A batch of model inputs, built on the host. `values[b][t*P + i]` is point i of patch t of
/// series b, normalised; `side[b][t]` its side channels. The tensors are made in `dtype` (the
/// model's: [`FadeModel::dtype`]); host values of another precision are rounded to it.
pub fn input_tensors<E: Element>(
    values: &[Vec<E>],
    side: &[Vec<[f32; N_SIDE]>],
    patch_len: usize,
    device: &Device,
    dtype: DType,
) -> (Tensor<3>, Tensor<3>) {
    let b = values.len();
    let n = values[0].len() / patch_len;
    let flat: Vec<E> = values.iter().flat_map(|v| v.iter().copied()).collect();
    let side_flat: Vec<f32> = side.iter().flat_map(|s| s.iter().flat_map(|c| c.iter().copied())).collect();
    (
        Tensor::from_data(TensorData::new(flat, [b, n, patch_len]), (device, dtype)),
        Tensor::from_data(TensorData::new(side_flat, [b, n, N_SIDE]), (device, dtype)),
    )
}

// ───────────────────────────────────── the network ─────────────────────────────────────

#[derive(Module, Debug)]
pub struct FadeModel {
    pub patch_embed: Linear,
    pub blocks: Vec<Block>,
    pub norm_f: LayerNorm,
    /// Next-patches quantiles: M × P × Q numbers per position.
    pub head: Linear,
    /// Contrastive projection of the pooled hidden state; not used to forecast.
    pub proj: Linear,
    /// Rotary table (a constant, not a parameter: rebuilt from the config, never saved).
    pub rope: RotaryEncoding,
    #[module(skip)]
    pub config: ModelConfig,
}

/// What one forward pass returns.
pub struct Output {
    /// Quantiles of the next M patches in normalised units, non-crossing: [B, N, M·P, Q] (the
    /// M patches one after the other along the third axis).
    pub quantiles: Tensor<4>,
    /// Final hidden states: [B, N, D].
    pub hidden: Tensor<3>,
}

impl FadeModel {
    /// Full-sequence forward pass (training, and the first step of a cached rollout).
    /// `patches`: [B, N, P] normalised values; `side`: [B, N, N_SIDE].
    pub fn forward(&self, patches: Tensor<3>, side: Tensor<3>) -> Output {
        self.forward_cached(patches, side, None)
    }

    /// Forward pass that reads and extends `cache` when given: the new patches sit after the
    /// cached ones, at positions `cache.next_pos ..`.
    pub fn forward_cached(&self, patches: Tensor<3>, side: Tensor<3>, cache: Option<&mut KvCache>) -> Output {
        let hidden = self.trunk(patches, side, cache); // [B, N, D]
        Output { quantiles: self.quantile_head(hidden.clone()), hidden }
    }

    /// As [`FadeModel::forward_cached`], but only the last position's quantiles (all a rollout
    /// reads): [B, 1, M·P, Q]. The head then runs on one position instead of N.
    pub fn forward_last(&self, patches: Tensor<3>, side: Tensor<3>, cache: &mut KvCache) -> Tensor<4> {
        let hidden = self.trunk(patches, side, Some(cache)); // [B, N, D]
        let n = hidden.dims()[1];
        self.quantile_head(hidden.narrow(1, n - 1, 1)) // [B, 1, M·P, Q]
    }

    /// Patch embedding, the blocks and the final norm: [B, N, P] + [B, N, N_SIDE] -> [B, N, D].
    fn trunk(&self, patches: Tensor<3>, side: Tensor<3>, mut cache: Option<&mut KvCache>) -> Tensor<3> {
        let n = patches.dims()[1];
        let start = cache.as_ref().map_or(0, |c| c.next_pos);
        let mut x = self.patch_embed.forward(Tensor::cat(vec![patches, side], 2)); // [B, N, D]
        for (i, block) in self.blocks.iter().enumerate() {
            let layer_cache = cache.as_mut().map(|c| &mut c.layers[i]);
            x = block.forward(x, &self.rope, start, layer_cache);
        }
        if let Some(c) = cache {
            c.next_pos += n;
        }
        self.norm_f.forward(x) // [B, N, D]
    }

    /// Non-crossing quantiles of the next M patches: the lowest is free, each next one adds a
    /// positive increment. [B, N, D] -> [B, N, M·P, Q].
    fn quantile_head(&self, hidden: Tensor<3>) -> Tensor<4> {
        let [b, n, _] = hidden.dims();
        let (q, mp) = (self.config.quantiles.len(), self.config.patch_len * self.config.output_patches);
        let raw = self.head.forward(hidden).reshape([b, n, mp, q]); // [B, N, M·P, Q]
        if q == 1 {
            return raw;
        }
        let lowest = raw.clone().narrow(3, 0, 1); // [B, N, M·P, 1]
        let steps = softplus(raw.narrow(3, 1, q - 1), 1.0).cumsum(3); // [B, N, M·P, Q-1]
        Tensor::cat(vec![lowest.clone(), lowest + steps], 3) // [B, N, M·P, Q]
    }

    /// Unit-norm window embedding for the contrastive loss: the hidden states of the first
    /// `valid[b]` positions of each window, mean-pooled, then projected. Returns [B, d_proj].
    pub fn embed(&self, hidden: Tensor<3>, valid: &[usize]) -> Tensor<2> {
        let [b, n, _] = hidden.dims();
        let weights: Vec<f32> = valid
            .iter()
            .flat_map(|&v| (0..n).map(move |t| if t < v { 1.0 / v.max(1) as f32 } else { 0.0 }))
            .collect();
        let w = Tensor::<3>::from_data(TensorData::new(weights, [b, n, 1]), &hidden.device());
        let pooled = (hidden * w).sum_dim(1).reshape([b as i32, -1]); // [B, D]
        let z = self.proj.forward(pooled); // [B, d_proj]
        let norm = z.clone().square().sum_dim(1).sqrt().clamp_min(1e-6); // [B, 1]
        z / norm
    }

    /// The float type of the weights (float32 unless [`FadeModel::cast`]).
    pub fn dtype(&self) -> DType {
        self.head.weight.val().dtype()
    }

    /// The same model computing in `dtype`: every weight and the rotary table cast. Training and
    /// forecasting use float32; float64 lets `bench/` compare whole rollouts with the PyTorch
    /// reference free of float32 round-off, which a long rollout feeds back and amplifies. Set the
    /// device's default float type to `dtype` first ([`Device::configure`], before any tensor
    /// exists): burn's rotary layer makes a tensor of the default type on every call.
    pub fn cast(self, dtype: FloatDType) -> Self {
        struct Cast(FloatDType);
        impl ModuleMapper for Cast {
            fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
                let dtype = self.0;
                param.map(|t| t.cast(dtype))
            }
        }
        let mut model = self.map(&mut Cast(dtype));
        model.rope.freq_complex = model.rope.freq_complex.cast(dtype);
        model.rope.theta = model.rope.theta.cast(dtype);
        model
    }

    /// An empty KV cache (its batch size is set by the first forward pass through it).
    pub fn new_cache(&self) -> KvCache {
        KvCache { layers: vec![None; self.blocks.len()], next_pos: 0 }
    }
}

/// Keys and values of the patches seen so far, per layer, each [B, H, S, head_dim]; each layer
/// trims them to the last `max_context_patches`, so a rollout attends to as much history as
/// training ever showed.
#[derive(Clone, Debug)]
pub struct KvCache {
    pub layers: Vec<Option<(Tensor<4>, Tensor<4>)>>,
    /// Rotary position of the next patch fed in.
    pub next_pos: usize,
}

/// Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)).
#[derive(Module, Debug)]
pub struct Block {
    pub norm_attn: LayerNorm,
    pub attn: CausalSelfAttention,
    pub norm_mlp: LayerNorm,
    pub fc_in: Linear,
    pub fc_out: Linear,
}

impl Block {
    fn new(cfg: &ModelConfig, device: &Device) -> Self {
        Self {
            norm_attn: LayerNormConfig::new(cfg.d_model).init(device),
            attn: CausalSelfAttention::new(cfg, device),
            norm_mlp: LayerNormConfig::new(cfg.d_model).init(device),
            fc_in: LinearConfig::new(cfg.d_model, cfg.d_ff).init(device),
            fc_out: LinearConfig::new(cfg.d_ff, cfg.d_model).init(device),
        }
    }

    fn forward(
        &self,
        x: Tensor<3>,
        rope: &RotaryEncoding,
        start: usize,
        cache: Option<&mut Option<(Tensor<4>, Tensor<4>)>>,
    ) -> Tensor<3> {
        let x = x.clone() + self.attn.forward(self.norm_attn.forward(x), rope, start, cache);
        let h = gelu(self.fc_in.forward(self.norm_mlp.forward(x.clone()))); // [B, N, d_ff]
        x + self.fc_out.forward(h) // [B, N, D]
    }
}

/// Multi-head causal self-attention with rotary positions and an optional KV cache. Separate
/// q/k/v/o projections, so LoRA can adapt each one.
#[derive(Module, Debug)]
pub struct CausalSelfAttention {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub out: Linear,
    pub n_heads: usize,
    pub window: usize,
}

impl CausalSelfAttention {
    fn new(cfg: &ModelConfig, device: &Device) -> Self {
        let lin = || LinearConfig::new(cfg.d_model, cfg.d_model).init(device);
        Self { query: lin(), key: lin(), value: lin(), out: lin(), n_heads: cfg.n_heads, window: cfg.max_context_patches }
    }

    fn forward(
        &self,
        x: Tensor<3>,
        rope: &RotaryEncoding,
        start: usize,
        cache: Option<&mut Option<(Tensor<4>, Tensor<4>)>>,
    ) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let (h, hd) = (self.n_heads, d / self.n_heads);
        let heads = |y: Tensor<3>| y.reshape([b, t, h, hd]).swap_dims(1, 2); // [B, H, T, hd]

        let q = rope.apply(heads(self.query.forward(x.clone())), start); // [B, H, T, hd]
        let mut k = rope.apply(heads(self.key.forward(x.clone())), start); // [B, H, T, hd]
        let mut v = heads(self.value.forward(x)); // [B, H, T, hd]

        if let Some(slot) = cache {
            if let Some((k_old, v_old)) = slot.take() {
                k = Tensor::cat(vec![k_old, k], 2); // [B, H, S, hd]
                v = Tensor::cat(vec![v_old, v], 2);
            }
            // Keep at most `window` keys (and at least the new ones): a sliding window.
            let s = k.dims()[2];
            let keep = s.min(self.window.max(t));
            k = k.narrow(2, s - keep, keep);
            v = v.narrow(2, s - keep, keep);
            *slot = Some((k.clone(), v.clone()));
        }
        let s = k.dims()[2];

        let scores = q.matmul(k.swap_dims(2, 3)) / (hd as f64).sqrt(); // [B, H, T, S]
        // Query i (the (s-t+i)-th key's own position) may see keys 0..=s-t+i.
        let future = Tensor::<2, Bool>::tril_mask([t, s], (s - t) as i64, &scores.device()); // [T, S]
        let scores = scores.mask_fill(future.unsqueeze::<4>(), -1.0e9);
        let y = softmax(scores, 3).matmul(v); // [B, H, T, hd]
        self.out.forward(y.swap_dims(1, 2).reshape([b, t, d])) // [B, T, D]
    }
}
