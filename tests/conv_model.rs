//! Models of image layers as a whole: files that rebuild them (PyTorch's tensor shapes), training
//! checkpoints that resume bit for bit, the same bits on any number of threads, and the layers'
//! errors at build.

#[path = "common/models.rs"]
mod models;
use models::every_image_layer_model;

use feedforward::io::TrainingCheckpoint;
use feedforward::layers::{Conv2d, MaxPool2d, Padding, Shape};
use feedforward::ndarray::Array2;
use feedforward::prelude::*;
use feedforward::Error;

/// `rows` random images of `(channels, size, size)` with 10 classes in turn.
fn images(rows: usize, channels: usize, size: usize, seed: u32) -> InMemory {
    let mut rng = RandomState::new(seed);
    let x = rng.rand(rows, channels * size * size).unwrap();
    let labels: Vec<usize> = (0..rows).map(|i| i % 10).collect();
    InMemory::new(x, one_hot(&labels, 10).unwrap()).unwrap()
}

fn bits(model: &Sequential) -> Vec<u32> {
    model
        .parameters()
        .iter()
        .chain(model.buffers().iter())
        .flat_map(|(_, p)| p.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        .collect()
}

#[test]
fn a_saved_model_of_image_layers_loads_with_its_shapes_and_pytorchs_tensor_shapes() {
    let data = images(24, 3, 8, 1);
    let mut model = every_image_layer_model(3, 8, 2);
    let mut sgd = Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap();
    model
        .fit(
            &data,
            &CrossEntropy,
            &mut sgd,
            &FitConfig::new(2).batch_size(8),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cnn.safetensors");
    model.save(&path).unwrap();
    let mut loaded = Sequential::load(&path).unwrap();
    assert_eq!(loaded.input_shape(), Shape::image(3, 8, 8).unwrap());
    assert_eq!(loaded.output_shapes(), model.output_shapes());
    assert_eq!(bits(&loaded), bits(&model));
    let x = data.inputs().to_owned();
    let want = model.predict(x.view()).unwrap().to_owned();
    assert_eq!(loaded.predict(x.view()).unwrap(), want);
    // The tensors as torch.nn.Sequential's state dict holds them.
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let shape = |name: &str| file.tensor(name).unwrap().shape().to_vec();
    assert_eq!(shape("0.weight"), [8, 3, 3, 3]);
    assert_eq!(shape("0.bias"), [8]);
    assert_eq!(shape("1.running_var"), [8]);
    assert_eq!(shape("4.weight"), [8, 1, 3, 3]);
    assert!(file.tensor("4.bias").is_err(), "a convolution without bias");
    assert_eq!(shape("5.weight"), [12, 2, 3, 3]);
    assert_eq!(shape("9.weight"), [10, 12]);
}

#[test]
fn training_of_image_layers_resumes_bit_for_bit() {
    let data = images(40, 2, 8, 3);
    let run = |epochs: usize, seed: u32, checkpoint: Option<&std::path::Path>| {
        let mut model = every_image_layer_model(2, 8, seed);
        let mut sgd = Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap();
        let mut config = FitConfig::new(epochs).batch_size(16).shuffle(4);
        if let Some(path) = checkpoint {
            config = config.checkpoint(path);
        }
        model.fit(&data, &CrossEntropy, &mut sgd, &config).unwrap();
        model
    };
    let straight = run(3, 1, None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.ckpt");
    run(1, 1, Some(&path));
    let saved = TrainingCheckpoint::read(&path).unwrap().model().unwrap();
    assert_eq!(saved.input_shape(), Shape::image(2, 8, 8).unwrap());
    // A model initialised otherwise: the weights come from the checkpoint.
    let resumed = run(3, 77, Some(&path));
    assert_eq!(bits(&resumed), bits(&straight));
}

#[test]
fn training_and_prediction_give_the_same_bits_on_any_number_of_threads() {
    // 192 images of 1 x 28 x 28 through Conv(1 -> 8, 5x5, pad 2): 30 M multiply-adds per
    // product, over the threshold for threads, cut into 16 chunks.
    let data = images(192, 1, 28, 5);
    let (x, y) = (data.inputs().to_owned(), data.targets().to_owned());
    let run = || {
        let mut rng = RandomState::new(6);
        let mut model = Sequential::builder_image(1, 28, 28)
            .push(Conv2d::config(1, 8, 5).padding(2).build(&mut rng).unwrap())
            .push(Relu)
            .push(MaxPool2d::new(2).unwrap())
            .push(
                Conv2d::config(8, 8, 3)
                    .padding(Padding::Same)
                    .build(&mut rng)
                    .unwrap(),
            )
            .push(Relu)
            .push(feedforward::layers::GlobalAvgPool2d::new())
            .rng(rng)
            .dense(10, Init::XavierNormal)
            .push(Softmax)
            .build()
            .unwrap();
        let mut sgd = Sgd::new(0.05).unwrap().with_momentum(0.9).unwrap();
        let losses: Vec<u32> = (0..3)
            .map(|_| {
                model
                    .train_step(x.view(), y.view(), &CrossEntropy, &mut sgd)
                    .unwrap()
                    .to_bits()
            })
            .collect();
        let predictions: Vec<u32> = model
            .predict(x.view())
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect();
        (losses, bits(&model), predictions)
    };
    let alone = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(run);
    for threads in [2, 3, 8] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert!(pool.install(run) == alone, "{threads} threads");
    }
}

#[test]
fn impossible_settings_are_errors_at_construction_or_build() {
    let mut rng = RandomState::new(0);
    let config = |c: feedforward::layers::Conv2dConfig| c.build(&mut RandomState::new(0));
    for bad in [
        Conv2d::config(0, 4, 3),
        Conv2d::config(3, 4, 0),
        Conv2d::config(3, 4, 3).stride(0),
        Conv2d::config(3, 4, 3).dilation((1, 0)),
        Conv2d::config(3, 4, 3).groups(0),
        Conv2d::config(3, 4, 3).groups(2),
        Conv2d::config(4, 6, 3).groups(4),
        Conv2d::config(3, 4, 3).stride(2).padding(Padding::Same),
    ] {
        assert!(
            matches!(config(bad), Err(Error::InvalidConfig { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(
        config(Conv2d::config(1 << 20, 1 << 20, 1 << 12)),
        Err(Error::TooLarge { .. })
    ));
    // A kernel larger than the padded input, the wrong channels, a flat input: errors at build
    // naming the layer and both shapes.
    let err = Sequential::builder_image(1, 4, 4)
        .push(Conv2d::config(1, 2, 5).build(&mut rng).unwrap())
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::LayerMismatch { index: 0, .. })
            && message.contains("(1, 4, 4)")
            && message.contains("5 x 5"),
        "{message}"
    );
    assert!(Sequential::builder_image(1, 4, 4)
        .push(Conv2d::config(1, 2, 5).padding(1).build(&mut rng).unwrap())
        .build()
        .is_ok());
    let err = Sequential::builder_image(3, 8, 8)
        .push(Conv2d::config(1, 2, 3).build(&mut rng).unwrap())
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("(3, 8, 8)") && err.to_string().contains("1 channels"),
        "{err}"
    );
    let err = Sequential::builder(64)
        .push(Conv2d::config(1, 2, 3).build(&mut rng).unwrap())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("builder_image"), "{err}");
    // A pooling window that leaves no output.
    let err = Sequential::builder_image(2, 3, 3)
        .push(MaxPool2d::new(4).unwrap())
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::LayerMismatch { index: 0, .. }),
        "{err}"
    );
    // An input too large to count.
    let err = Sequential::builder_image(1 << 40, 1 << 20, 1 << 10)
        .push(Relu)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    // A layer used unbuilt is an error, not a panic.
    let mut conv = Conv2d::config(1, 1, 1).build(&mut rng).unwrap();
    let mut out = Array2::zeros((1, 4));
    assert!(conv
        .forward(Array2::zeros((1, 4)).view(), out.view_mut())
        .is_err());
}
