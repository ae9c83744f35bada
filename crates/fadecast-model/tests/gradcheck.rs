//! Finite-difference check of the gradients training uses (forecast + contrastive loss, two
//! shards backpropagated in parallel and summed), on a tiny model in f64. Its own test binary:
//! the device's default dtype is process-wide.

mod common;

use burn::module::Param;
use burn::tensor::{Device, FloatDType, Tensor};
use fadecast_model::model::{FadeModel, ModelConfig};
use fadecast_model::train::{batch_loss, make_shards, scalar, shard_gradients, TrainConfig};
use fadecast_model::windows::{DescriptorScaler, WindowSampler};

/// Reads and writes one weight matrix of the model, so the check can nudge it.
type Access = fn(&mut FadeModel) -> &mut Param<Tensor<2>>;

#[test]
fn gradients_match_finite_differences() {
    let mut plain = Device::flex();
    plain.configure(FloatDType::F64).expect("f64 before any tensor");
    let device = plain.autodiff();
    // The next patch only, and the next three at once (the loss then masks what lies past a window).
    for output_patches in [1, 3] {
        check_gradients(&device, output_patches);
    }
}

fn check_gradients(device: &Device, output_patches: usize) {
    let device = device.clone();
    device.seed(11);
    let base = common::tiny_train(1);
    let model = ModelConfig { output_patches, ..base.model.clone() };
    let cfg = TrainConfig { contrastive_weight: 0.5, shards: 2, model, ..base };
    let cells = common::synthetic_cells(6, 80);
    let sampler = WindowSampler::new(&cells, &cfg.model, &cfg.windows);
    let windows = sampler.sample_many(24, 5);
    let scaler = DescriptorScaler::fit(&windows);
    let shards = make_shards(&windows, Some(&scaler), &cfg);
    assert_eq!(shards.len(), 2);
    assert!(shards.iter().all(|s| s.plan.as_ref().is_some_and(|p| p.anchors > 0)), "the contrastive term must take part in the check");

    // Finite differences of the batch loss; gradients from the parallel path training uses.
    let loss_of = |m: &FadeModel| batch_loss(m, &shards, &cfg, &device).0;
    let model = cfg.model.init(&device);
    let (grads, _) = shard_gradients(&model, &shards, &cfg, &device);

    let params: [(&str, Access); 6] = [
        ("patch_embed", |m| &mut m.patch_embed.weight),
        ("block0.query", |m| &mut m.blocks[0].attn.query.weight),
        ("block1.key", |m| &mut m.blocks[1].attn.key.weight),
        ("block1.fc_in", |m| &mut m.blocks[1].fc_in.weight),
        ("head", |m| &mut m.head.weight),
        ("proj", |m| &mut m.proj.weight),
    ];
    let eps = 1e-6;
    let mut checked = 0;
    for (name, access) in params {
        let mut probe = model.clone();
        let weight = access(&mut probe).val();
        let id = access(&mut probe).id;
        let analytic: Vec<f64> = grads.get::<2>(id).expect("a gradient").into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
        let values: Vec<f64> = weight.clone().into_data().convert::<f64>().try_to_vec::<f64>().unwrap();
        let dims = weight.dims();
        // A spread of entries, deterministic.
        for k in 0..4 {
            let i = (k * 7919 + 13) % values.len();
            let at = |delta: f64| {
                let mut v = values.clone();
                v[i] += delta;
                let mut m = model.clone();
                *access(&mut m) = Param::from_tensor(Tensor::<2>::from_data(
                    burn::tensor::TensorData::new(v, dims),
                    &device,
                ));
                scalar(&loss_of(&m))
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            let err = (numeric - analytic[i]).abs() / (numeric.abs() + analytic[i].abs()).max(1e-6);
            assert!(
                err < 1e-4,
                "M = {output_patches}, {name}[{i}]: finite difference {numeric:e} vs backprop {:e} (relative error {err:e})",
                analytic[i]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
}
