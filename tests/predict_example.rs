//! `cargo run --example predict`: a model saved here, loaded by the example, which classifies
//! images (PGM and PNG, any size, either polarity) and evaluates on the MNIST test set.

mod common;

use feedforward::data::mnist::Mnist;
use feedforward::prelude::*;
use image::{GrayImage, Luma};
use std::path::Path;
use std::process::{Command, Output};

fn predict(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(common::example_binary("predict"))
        .args(args)
        .output()
        .expect("the example runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The tutorial's softmax regression, trained for one epoch on MNIST's training set.
fn trained(mnist: &Mnist) -> Sequential {
    let mut rng = RandomState::new(0);
    let mut model = Sequential::builder(784)
        .push(Dense::new(784, 10, Init::TUTORIAL, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let mut sgd = Sgd::new(0.1).unwrap();
    model
        .fit(
            &mnist.train,
            &CrossEntropy,
            &mut sgd,
            &FitConfig::new(1).batch_size(32),
        )
        .unwrap();
    model
}

/// Test image `i` as a 28x28 grey image.
fn digit(mnist: &Mnist, i: usize) -> GrayImage {
    GrayImage::from_raw(28, 28, mnist.test.image(i).to_vec()).unwrap()
}

/// Writes `image` as a binary PGM (P5).
fn write_pgm(image: &GrayImage, path: &Path) {
    let mut bytes = format!("P5\n{} {}\n255\n", image.width(), image.height()).into_bytes();
    bytes.extend_from_slice(image.as_raw());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn predict_classifies_images_and_evaluates_a_saved_model() {
    let dir_mnist = common::mnist_dir();
    let mnist = Mnist::load(&dir_mnist).unwrap();
    let mut model = trained(&mnist);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("mnist.safetensors");
    model.save(&saved).unwrap();

    // In process: the test accuracy and the first test images' classes with probabilities.
    let accuracy = model
        .evaluate(&mnist.test, &CrossEntropy, 1000)
        .unwrap()
        .accuracy
        .unwrap();
    assert!(accuracy > 0.85, "{accuracy}");
    let first: Vec<usize> = (0..40).collect();
    let mut x = ndarray::Array2::zeros((40, 784));
    let mut t = ndarray::Array2::zeros((40, 10));
    mnist
        .test
        .fill_batch(&first, x.view_mut(), t.view_mut())
        .unwrap();
    let p = model.predict(x.view()).unwrap().to_owned();
    let best = |i: usize| {
        let row = p.row(i);
        let c = feedforward::metrics::argmax(row);
        (c, row[c])
    };

    // A 28x28 PGM, exactly an MNIST image: the same class and probability as in process.
    let pgm = dir.path().join("digit0.pgm");
    write_pgm(&digit(&mnist, 0), &pgm);
    // A confidently right digit drawn black on white, three times larger, as a PNG: inverted,
    // cropped, scaled and centred back, it is still recognised.
    let confident = (0..40)
        .find(|&i| best(i).0 == usize::from(mnist.test.label(i)) && best(i).1 > 0.95)
        .expect("a confidently right digit among the first 40");
    let small = digit(&mnist, confident);
    let large = GrayImage::from_fn(84, 84, |x, y| {
        Luma([255 - small.get_pixel(x / 3, y / 3).0[0]])
    });
    let png = dir.path().join("large_inverted.png");
    large.save(&png).unwrap();

    let out = predict(&[
        "--model".as_ref(),
        saved.as_os_str(),
        pgm.as_os_str(),
        png.as_os_str(),
        "--evaluate".as_ref(),
        dir_mnist.as_os_str(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let (c, prob) = best(0);
    assert!(
        lines[0].starts_with(&format!("{}: {c} ({prob:.4}), ", pgm.display())),
        "{stdout}"
    );
    assert_eq!(lines[0].matches(" (").count(), 3, "top 3: {stdout}");
    let label = mnist.test.label(confident);
    assert!(
        lines[1].starts_with(&format!("{}: {label} (", png.display())),
        "digit {confident}, a {label}: {stdout}"
    );
    assert_eq!(lines[2], format!("Accuracy on test set: {accuracy:.4}"));
}

#[test]
fn predict_reports_bad_options_and_errors_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Usage errors: 2.
    for args in [
        &[][..],
        &["--model"][..],
        &["--frobnicate"][..],
        &["image.png"][..],
        &["--model", "m.safetensors"][..],
    ] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        let out = predict(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("--help"),
            "{}",
            text(&out.stderr)
        );
    }
    let help = predict(&["--help".as_ref()]);
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("--evaluate DIR"));

    // Run-time errors: 1, with the reason.
    let missing = dir.path().join("missing.safetensors");
    let out = predict(&["--model".as_ref(), missing.as_os_str(), "x.png".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("missing.safetensors"),
        "{}",
        text(&out.stderr)
    );

    let small = dir.path().join("small.safetensors");
    let mut rng = RandomState::new(0);
    Sequential::builder(4)
        .push(Dense::new(4, 2, Init::HeNormal, &mut rng).unwrap())
        .build()
        .unwrap()
        .save(&small)
        .unwrap();
    let out = predict(&["--model".as_ref(), small.as_os_str(), "x.png".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("takes 4 inputs"),
        "{}",
        text(&out.stderr)
    );

    let model = dir.path().join("mnist.safetensors");
    Sequential::builder(784)
        .push(Dense::new(784, 10, Init::TUTORIAL, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap()
        .save(&model)
        .unwrap();
    let not_an_image = dir.path().join("notes.png");
    std::fs::write(&not_an_image, "not an image").unwrap();
    let out = predict(&[
        "--model".as_ref(),
        model.as_os_str(),
        not_an_image.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("notes.png"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn predict_reads_alpha_drawn_digits_refuses_empty_images_and_evaluates_with_the_test_files_only() {
    let dir_mnist = common::mnist_dir();
    let mnist = Mnist::load(&dir_mnist).unwrap();
    let mut model = trained(&mnist);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("mnist.safetensors");
    model.save(&saved).unwrap();

    // A digit drawn in the alpha channel (black strokes over transparent pixels, as drawing
    // apps export it) is the same digit as its grey version.
    let grey = digit(&mnist, 3);
    let pgm = dir.path().join("grey.pgm");
    write_pgm(&grey, &pgm);
    let rgba = image::RgbaImage::from_fn(28, 28, |x, y| {
        image::Rgba([0, 0, 0, grey.get_pixel(x, y).0[0]])
    });
    let png = dir.path().join("alpha.png");
    rgba.save(&png).unwrap();
    let out = predict(&[
        "--model".as_ref(),
        saved.as_os_str(),
        pgm.as_os_str(),
        png.as_os_str(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let answers: Vec<&str> = stdout
        .lines()
        .map(|l| l.split_once(": ").unwrap().1)
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0], answers[1], "{stdout}");
    let mut x = ndarray::Array2::zeros((1, 784));
    let mut t = ndarray::Array2::zeros((1, 10));
    mnist
        .test
        .fill_batch(&[3], x.view_mut(), t.view_mut())
        .unwrap();
    let class = feedforward::metrics::argmax(model.predict(x.view()).unwrap().row(0));
    assert!(answers[1].starts_with(&format!("{class} (")), "{stdout}");

    // A 0x0 image: an error, exit 1.
    let empty = dir.path().join("empty.pgm");
    std::fs::write(&empty, b"P5\n0 0\n255\n").unwrap();
    let out = predict(&["--model".as_ref(), saved.as_os_str(), empty.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("empty.pgm"),
        "{}",
        text(&out.stderr)
    );

    // --evaluate with a folder holding only the two test files.
    let tests_only = dir.path().join("tests-only");
    std::fs::create_dir(&tests_only).unwrap();
    for name in [
        feedforward::data::mnist::TEST_IMAGES,
        feedforward::data::mnist::TEST_LABELS,
    ] {
        let source = feedforward::data::mnist::find_file(&dir_mnist, name).unwrap();
        std::fs::copy(&source, tests_only.join(source.file_name().unwrap())).unwrap();
    }
    let out = predict(&[
        "--model".as_ref(),
        saved.as_os_str(),
        "--evaluate".as_ref(),
        tests_only.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let accuracy = model
        .evaluate(&mnist.test, &CrossEntropy, 1000)
        .unwrap()
        .accuracy
        .unwrap();
    assert_eq!(
        text(&out.stdout).trim(),
        format!("Accuracy on test set: {accuracy:.4}")
    );
}
