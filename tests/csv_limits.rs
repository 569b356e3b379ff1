//! The CSV reader's limits, as the model loader has them: files that are not regular files are
//! refused before they are opened, a text column cannot have more categories than a cap, and an
//! error message quotes at most about 80 characters of a cell.
#![cfg(feature = "csv")]

use feedforward::data::csv::{CsvReader, TableEncoding, DEFAULT_MAX_CATEGORIES};
use feedforward::Error;
use std::path::{Path, PathBuf};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// An encoding learned from a small table with a numeric feature `x`, a text feature `colour`
/// and a text target `y`.
fn encoding(dir: &tempfile::TempDir) -> TableEncoding {
    let path = write(
        dir,
        "train.csv",
        "x,colour,y\n1,red,cat\n2,blue,dog\n3,red,cat\n",
    );
    CsvReader::new()
        .target("y")
        .read(&path)
        .unwrap()
        .encoding()
        .clone()
}

/// Every reader of a path, each returning only whether it failed and how.
fn every_read(path: &Path, encoding: &TableEncoding) -> Vec<(&'static str, Error)> {
    vec![
        (
            "CsvReader::read",
            CsvReader::new().target("y").read(path).unwrap_err(),
        ),
        ("TableEncoding::read", encoding.read(path).unwrap_err()),
        (
            "TableEncoding::read_inputs",
            encoding.read_inputs(path).unwrap_err(),
        ),
        (
            "TableEncoding::load",
            TableEncoding::load(path).unwrap_err(),
        ),
    ]
}

fn assert_not_regular(path: &Path, encoding: &TableEncoding, kind: &str) {
    for (reader, err) in every_read(path, encoding) {
        assert!(matches!(err, Error::Io { .. }), "{reader}: {err:?}");
        let message = err.to_string();
        assert!(
            message.contains("not a regular file") && message.contains(kind),
            "{reader}: {message}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_device_is_refused_before_a_byte_is_read() {
    // /dev/zero never ends: read whole, it made the reader allocate until the process aborted.
    let dir = tempfile::tempdir().unwrap();
    let encoding = encoding(&dir);
    assert_not_regular(
        Path::new("/dev/zero"),
        &encoding,
        "a device, FIFO or socket",
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_without_a_writer_is_refused_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let encoding = encoding(&dir);
    let fifo = dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // Opening a FIFO without a writer blocks forever: the check must come before the open.
    assert_not_regular(&fifo, &encoding, "a device, FIFO or socket");
}

#[test]
fn a_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let encoding = encoding(&dir);
    assert_not_regular(dir.path(), &encoding, "a folder");
}

/// A table whose text column `id` has `n` distinct values, beside a numeric feature and a
/// two-class target.
fn identifiers(dir: &tempfile::TempDir, n: usize) -> PathBuf {
    let mut text = String::from("id,x,y\n");
    for i in 0..n {
        text.push_str(&format!("user{i},{},{}\n", i % 7, i % 2));
    }
    write(dir, &format!("ids-{n}.csv"), &text)
}

#[test]
fn a_text_column_with_more_categories_than_the_cap_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = identifiers(&dir, DEFAULT_MAX_CATEGORIES + 1);
    let err = CsvReader::new().target("y").read(&path).unwrap_err();
    let message = err.to_string();
    match err {
        Error::Table { column, .. } => assert_eq!(column.as_deref(), Some("id")),
        other => panic!("expected Error::Table, got {other:?}"),
    }
    assert!(
        message.contains(&format!(
            "more than {DEFAULT_MAX_CATEGORIES} distinct values"
        )),
        "{message}"
    );
    assert!(message.contains(".ignore(\"id\")"), "{message}");
    assert!(message.contains("read as numbers"), "{message}");
    assert!(message.contains("max_categories"), "{message}");

    // At the cap it is read; ignored it is no feature at all; a higher cap lets it through.
    let at_cap = identifiers(&dir, DEFAULT_MAX_CATEGORIES);
    let table = CsvReader::new().target("y").read(&at_cap).unwrap();
    assert_eq!(table.encoding().input_width(), DEFAULT_MAX_CATEGORIES + 1);
    let table = CsvReader::new()
        .target("y")
        .ignore("id")
        .read(&path)
        .unwrap();
    assert_eq!(table.encoding().input_names(), ["x"]);
    let table = CsvReader::new()
        .target("y")
        .max_categories(2000)
        .read(&path)
        .unwrap();
    assert_eq!(table.encoding().input_width(), DEFAULT_MAX_CATEGORIES + 2);

    // A declared categorical column of numbers meets the same cap.
    let err = CsvReader::new()
        .target("y")
        .ignore("id")
        .categorical("x")
        .max_categories(5)
        .read(&path)
        .unwrap_err();
    assert!(
        err.to_string().contains("more than 5 distinct values"),
        "{err}"
    );
}

#[test]
fn a_target_with_more_classes_than_the_cap_is_an_error_suggesting_regression() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("x,y\n");
    for i in 0..30 {
        text.push_str(&format!("{i},class{i}\n"));
    }
    let path = write(&dir, "many.csv", &text);
    let err = CsvReader::new()
        .target("y")
        .max_categories(20)
        .read(&path)
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::Table { column: Some(ref c), .. } if c == "y"),
        "{message}"
    );
    assert!(message.contains("more than 20 classes"), "{message}");
    assert!(message.contains("Task::Regression"), "{message}");
    assert_eq!(
        CsvReader::new()
            .target("y")
            .read(&path)
            .unwrap()
            .target_width(),
        30
    );
}

use feedforward::data::Dataset;

/// A message quotes at most 80 characters of the cell, then says how long the cell is.
fn assert_short(message: &str, cell_len: usize) {
    assert!(
        message.len() < 600,
        "{} bytes: {}",
        message.len(),
        &message[..600]
    );
    assert!(
        message.contains(&format!("({cell_len} bytes in all)")),
        "{message}"
    );
}

#[test]
fn error_messages_quote_at_most_80_characters_of_a_cell() {
    let dir = tempfile::tempdir().unwrap();
    let encoding = encoding(&dir);
    let digits = "9".repeat(1 << 20);
    // A numeric cell too large for an f32 (the 200 MB cell, smaller).
    let huge_number = write(
        &dir,
        "n.csv",
        &format!("x,colour,y\n1,red,cat\n{digits},blue,dog\n"),
    );
    let message = CsvReader::new()
        .target("y")
        .read(&huge_number)
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a finite 32-bit number"), "{message}");
    assert!(
        message.contains(&format!("\"{}\"...", "9".repeat(80))),
        "{message}"
    );
    assert_short(&message, digits.len());

    // Text in a numeric column, an unknown category, an unknown class: each quotes the cell
    // short, and lists the known ones.
    let text = "é".repeat(100_000);
    for (name, row) in [
        ("x.csv", format!("{text},red,cat")),
        ("c.csv", format!("1,{text},cat")),
        ("y.csv", format!("1,red,{text}")),
    ] {
        let path = write(&dir, name, &format!("x,colour,y\n{row}\n"));
        let message = encoding.read(&path).unwrap_err().to_string();
        assert!(
            message.contains(&format!("\"{}\"...", "é".repeat(80))),
            "{message}"
        );
        assert_short(&message, text.len());
    }

    // A huge column name in a list of the columns there are.
    let header = "h".repeat(1 << 20);
    let path = write(&dir, "h.csv", &format!("{header},y\n1,cat\n2,dog\n"));
    let message = CsvReader::new()
        .target("nope")
        .read(&path)
        .unwrap_err()
        .to_string();
    assert!(message.len() < 600, "{} bytes", message.len());
}
