//! Tables from CSV files: encoding, errors naming file, line and column, reuse of the encoding
//! on other files and rows, and training on what is read.
#![cfg(feature = "csv")]

use feedforward::data::csv::{
    CsvReader, FeatureKind, Missing, Table, TableEncoding, Task, UnknownCategory,
};
use feedforward::data::Dataset;
use feedforward::prelude::*;
use feedforward::Error;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// Writes `text` to a file named `name` in `dir`.
fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The line, column and message of an [`Error::Table`].
fn table_error(error: Error) -> (Option<PathBuf>, Option<u64>, Option<String>, String) {
    let message = error.to_string();
    match error {
        Error::Table {
            file, line, column, ..
        } => (file, line, column, message),
        other => panic!("expected Error::Table, got {other:?}"),
    }
}

#[test]
fn a_missing_cell_is_an_error_naming_file_line_and_column() {
    // pets.csv: a text feature (colour, with a quoted "black, white"), a text target
    // (species), and age "NA" on line 5.
    let path = fixture("pets.csv");
    let err = CsvReader::new().target("species").read(&path).unwrap_err();
    let (file, line, column, message) = table_error(err);
    assert_eq!(file.as_deref(), Some(path.as_path()));
    assert_eq!(line, Some(5));
    assert_eq!(column.as_deref(), Some("age"));
    assert!(
        message.contains("pets.csv, line 5, column \"age\""),
        "{message}"
    );
    assert!(message.contains("\"NA\""), "{message}");
    assert!(message.contains("Missing::DropRows"), "{message}");
}

#[test]
fn text_features_are_one_hot_and_text_labels_are_sorted_classes() {
    let table = CsvReader::new()
        .target("species")
        .missing(Missing::DropRows)
        .read(fixture("pets.csv"))
        .unwrap();
    assert_eq!(table.dropped_rows(), 1);
    assert_eq!(table.len(), 7);
    assert_eq!(table.lines(), [2, 3, 4, 6, 7, 8, 9]);
    let encoding = table.encoding();
    assert_eq!(encoding.task(), Task::Classification);
    assert_eq!(
        encoding.input_names(),
        [
            "weight",
            "colour=black",
            "colour=black, white",
            "colour=brown",
            "colour=white",
            "age",
            "indoor"
        ]
    );
    assert_eq!(
        encoding.features()[1].kind,
        FeatureKind::OneHot {
            categories: vec![
                "black".into(),
                "black, white".into(),
                "brown".into(),
                "white".into()
            ]
        }
    );
    assert_eq!(encoding.classes().unwrap(), ["cat", "dog", "rabbit"]);
    assert_eq!(table.labels().unwrap(), [0, 1, 2, 1, 2, 0, 1]);
    // 4.2,"black, white",3,1,cat
    assert_eq!(
        table.inputs().row(0).to_vec(),
        [4.2, 0.0, 1.0, 0.0, 0.0, 3.0, 1.0]
    );
    assert_eq!(table.targets().row(0).to_vec(), [1.0, 0.0, 0.0]);
    // 25.0,black,7,0,dog (line 6)
    assert_eq!(
        table.inputs().row(3).to_vec(),
        [25.0, 1.0, 0.0, 0.0, 0.0, 7.0, 0.0]
    );
    assert_eq!(table.class_of(3), Some(1));
    assert_eq!((table.input_width(), table.target_width()), (7, 3));
}

#[test]
fn the_encoding_reads_a_test_file_as_it_read_the_training_file() {
    let dir = tempfile::tempdir().unwrap();
    let train = CsvReader::new()
        .target("species")
        .missing(Missing::DropRows)
        .read(fixture("pets.csv"))
        .unwrap();
    // Columns in another order, an extra column, a category of the training data only.
    let test = write(
        &dir,
        "test.csv",
        "id,species,indoor,age,colour,weight\n7,dog,0,6,brown,27.5\n8,cat,1,2,\"black, white\",4.0\n",
    );
    let table = train.encoding().read(&test).unwrap();
    assert_eq!(table.labels().unwrap(), [1, 0]);
    assert_eq!(
        table.inputs().row(0).to_vec(),
        [27.5, 0.0, 0.0, 1.0, 0.0, 6.0, 0.0]
    );
    assert_eq!(table.encoding(), train.encoding());

    // A category the training data did not have: an error naming the cell, or zeros.
    let unseen = write(
        &dir,
        "unseen.csv",
        "weight,colour,age,indoor,species\n3.0,white,2,1,cat\n3.0,ginger,2,1,cat\n",
    );
    let (file, line, column, message) = table_error(train.encoding().read(&unseen).unwrap_err());
    assert_eq!(file.as_deref(), Some(unseen.as_path()));
    assert_eq!((line, column.as_deref()), (Some(3), Some("colour")));
    assert!(message.contains("\"ginger\""), "{message}");
    let lenient = CsvReader::new()
        .target("species")
        .missing(Missing::DropRows)
        .unknown_categories(UnknownCategory::Ignore)
        .read(fixture("pets.csv"))
        .unwrap();
    let table = lenient.encoding().read(&unseen).unwrap();
    assert_eq!(
        table.inputs().row(1).to_vec(),
        [3.0, 0.0, 0.0, 0.0, 0.0, 2.0, 1.0]
    );

    // A class the training data did not have, a missing column.
    let hamster = write(
        &dir,
        "hamster.csv",
        "weight,colour,age,indoor,species\n0.1,white,1,1,hamster\n",
    );
    let (_, line, column, message) = table_error(train.encoding().read(&hamster).unwrap_err());
    assert_eq!((line, column.as_deref()), (Some(2), Some("species")));
    assert!(message.contains("cat, dog, rabbit"), "{message}");
    let no_age = write(
        &dir,
        "no_age.csv",
        "weight,colour,indoor,species\n1,white,1,cat\n",
    );
    let (_, line, column, message) = table_error(train.encoding().read(&no_age).unwrap_err());
    assert_eq!((line, column.as_deref()), (Some(1), Some("age")));
    assert!(
        message.contains("weight, colour, indoor, species"),
        "{message}"
    );

    // Rows to predict: no target column needed.
    let inputs = write(
        &dir,
        "inputs.csv",
        "weight,colour,age,indoor\n2.0,brown,1,1\n",
    );
    let x = train.encoding().read_inputs(&inputs).unwrap();
    assert_eq!(x.row(0).to_vec(), [2.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0]);
}

#[test]
fn new_rows_are_encoded_from_text_with_errors_naming_row_and_column() {
    let train = CsvReader::new()
        .target("species")
        .missing(Missing::DropRows)
        .read(fixture("pets.csv"))
        .unwrap();
    let encoding = train.encoding();
    let x = encoding
        .encode_inputs(&[
            ["2.0", "white", "1", "1"],
            [" 31 ", "black, white", "8", "0"],
        ])
        .unwrap();
    assert_eq!(x.row(1).to_vec(), [31.0, 0.0, 1.0, 0.0, 0.0, 8.0, 0.0]);
    let err = encoding
        .encode_inputs(&[vec!["2.0", "white", "1"]])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("3 values, expected 4: one per input column (weight, colour, age, indoor)"),
        "{err}"
    );
    let (file, line, column, message) = table_error(
        encoding
            .encode_inputs(&[["2.0", "white", "1", "1"], ["heavy", "white", "1", "1"]])
            .unwrap_err(),
    );
    assert_eq!(
        (file, line, column.as_deref()),
        (None, Some(1), Some("weight"))
    );
    assert!(message.starts_with("row 1, column \"weight\""), "{message}");
    let (_, line, column, _) = table_error(
        encoding
            .encode_inputs(&[["2.0", "", "1", "1"]])
            .unwrap_err(),
    );
    assert_eq!((line, column.as_deref()), (Some(0), Some("colour")));
}

#[test]
fn a_model_trains_on_a_table_with_text_features_and_text_labels() {
    // 400 rows: the class is "high" when 2 x + (colour is "red, dark") > 1.2 (a text feature
    // with a comma, quoted), with a third numeric column of noise.
    let dir = tempfile::tempdir().unwrap();
    let mut rng = RandomState::new(3);
    let mut csv = String::from("x,colour,noise,label\n");
    for _ in 0..400 {
        let x = rng.next_f64();
        let red = rng.next_f64() < 0.5;
        let noise = rng.next_f64();
        let score = 2.0 * x + if red { 1.0 } else { 0.0 };
        let label = if score > 1.2 { "high" } else { "low" };
        let colour = if red { "\"red, dark\"" } else { "blue" };
        csv.push_str(&format!("{x:.4},{colour},{noise:.4},{label}\n"));
    }
    let path = write(&dir, "train.csv", &csv);
    let table = CsvReader::new().target("label").read(&path).unwrap();
    assert_eq!(
        table.encoding().input_names(),
        ["x", "colour=blue", "colour=red, dark", "noise"]
    );
    let split =
        feedforward::data::stratified_train_test_split(table.labels().unwrap(), 0.25, 0).unwrap();
    let (train, test) = (
        table.select(&split.train).unwrap(),
        table.select(&split.test).unwrap(),
    );
    let mut model = Sequential::builder(4)
        .push(Dense::new(4, 16, Init::HeNormal, &mut rng).unwrap())
        .push(Relu)
        .push(Dense::new(16, 2, Init::XavierNormal, &mut rng).unwrap())
        .push(Softmax)
        .build()
        .unwrap();
    let mut adam = Adam::new(0.01).unwrap();
    let config = FitConfig::new(60).batch_size(16).shuffle(1);
    model
        .fit(&train, &CrossEntropy, &mut adam, &config)
        .unwrap();
    let evaluation = model.evaluate(&test, &CrossEntropy, 100).unwrap();
    let accuracy = evaluation.accuracy.unwrap();
    assert!(accuracy > 0.95, "test accuracy {accuracy}");
    assert_eq!(evaluation.confusion.unwrap().total(), 100);
}

#[test]
fn integer_labels_are_classes_sorted_by_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "t.csv", "a,y\n1,10\n2,9\n3,1.0\n4,1\n5,9\n");
    let table = CsvReader::new()
        .target("y")
        .task(Task::Classification)
        .read(&path)
        .unwrap();
    assert_eq!(table.encoding().classes().unwrap(), ["1.0", "9", "10"]);
    assert_eq!(table.labels().unwrap(), [2, 1, 0, 0, 1]);
}

#[test]
fn several_numeric_targets_make_a_multi_output_regression() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "t.csv",
        "x,y1,z,y2\n1,0.5,a,-1\n2,1.5,b,-2\n3,2.5,a,-3.5\n",
    );
    let table = CsvReader::new()
        .target("y1")
        .target("y2")
        .read(&path)
        .unwrap();
    assert_eq!(table.task(), Task::Regression);
    assert_eq!(table.encoding().target_names(), ["y1", "y2"]);
    assert_eq!(table.encoding().input_names(), ["x", "z=a", "z=b"]);
    assert_eq!(table.targets().row(2).to_vec(), [2.5, -3.5]);
    assert_eq!(table.labels(), None);
    assert_eq!(table.class_of(0), None);
    let err = CsvReader::new()
        .target("y1")
        .target("y2")
        .task(Task::Classification)
        .read(&path)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    // A text cell in a regression target.
    let err = CsvReader::new()
        .target("z")
        .task(Task::Regression)
        .read(&path)
        .unwrap_err();
    let (_, line, column, message) = table_error(err);
    assert_eq!((line, column.as_deref()), (Some(2), Some("z")));
    assert!(message.contains("\"a\" is not a number"), "{message}");
}

#[test]
fn malformed_files_are_errors_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    // A quoted field over two lines: the next record starts on line 4.
    let ragged = write(&dir, "r.csv", "a,b,y\n1,\"two\nlines\",0\n1,2\n");
    let (_, line, _, message) =
        table_error(CsvReader::new().target("y").read(&ragged).unwrap_err());
    assert_eq!(line, Some(4));
    assert!(
        message.contains("2 fields where the header has 3"),
        "{message}"
    );
    let unknown = write(&dir, "u.csv", "a,b\n1,2\n3,4\n");
    let (_, line, column, message) =
        table_error(CsvReader::new().target("label").read(&unknown).unwrap_err());
    assert_eq!((line, column.as_deref()), (Some(1), Some("label")));
    assert!(message.contains("the columns are: a, b"), "{message}");
    let twice = write(&dir, "d.csv", "a,b,a\n1,2,3\n");
    let (_, _, column, message) =
        table_error(CsvReader::new().target("b").read(&twice).unwrap_err());
    assert_eq!(column.as_deref(), Some("a"));
    assert!(message.contains("columns 1 and 3"), "{message}");
    let empty = write(&dir, "e.csv", "");
    assert!(matches!(
        CsvReader::new().target("y").read(&empty).unwrap_err(),
        Error::Table { .. }
    ));
    let header_only = write(&dir, "h.csv", "a,y\n");
    assert!(matches!(
        CsvReader::new().target("y").read(&header_only).unwrap_err(),
        Error::Empty { .. }
    ));
    let single_class = write(&dir, "s.csv", "a,y\n1,cat\n2,cat\n");
    let err = CsvReader::new()
        .target("y")
        .read(&single_class)
        .unwrap_err();
    assert!(err.to_string().contains("a single class"), "{err}");
    let inf = write(&dir, "i.csv", "a,y\n1e39,1.5\n2,2.5\n3,3.5\n");
    let (_, line, column, message) = table_error(
        CsvReader::new()
            .target("y")
            .task(Task::Regression)
            .read(&inf)
            .unwrap_err(),
    );
    assert_eq!((line, column.as_deref()), (Some(2), Some("a")));
    assert!(message.contains("not a finite 32-bit number"), "{message}");
    assert!(matches!(
        CsvReader::new().read(&inf).unwrap_err(),
        Error::InvalidConfig { .. }
    ));
    assert!(matches!(
        CsvReader::new()
            .target("y")
            .read(dir.path().join("nope.csv"))
            .unwrap_err(),
        Error::Io { .. }
    ));
}

#[test]
fn options_bom_delimiter_ignored_and_categorical_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "semi.csv",
        "\u{feff}id;zip;size;y\n1;75001;1,5;a\n2;13001;2;b\n3;75001;3;a\n",
    );
    let table = CsvReader::new()
        .target("y")
        .delimiter(b';')
        .ignore("id")
        .categorical("zip")
        .task(Task::Classification)
        .read(&path);
    // "1,5" is not a number with a '.' decimal point: size becomes a text column.
    let table = table.unwrap();
    assert_eq!(
        table.encoding().input_names(),
        ["zip=13001", "zip=75001", "size=1,5", "size=2", "size=3"]
    );
}

#[test]
fn an_encoding_is_saved_and_loaded_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let table = CsvReader::new()
        .target("species")
        .missing(Missing::DropRows)
        .read(fixture("pets.csv"))
        .unwrap();
    let path = dir.path().join("encoding.json");
    table.encoding().save(&path).unwrap();
    let loaded = TableEncoding::load(&path).unwrap();
    assert_eq!(&loaded, table.encoding());
    let text = std::fs::read_to_string(&path).unwrap();
    let tampered = write(&dir, "bad.json", &text.replace("\"brown\"", "\"aaa\""));
    assert!(matches!(
        TableEncoding::load(&tampered).unwrap_err(),
        Error::CorruptFile { .. }
    ));
    let garbage = write(&dir, "garbage.json", "{");
    assert!(matches!(
        TableEncoding::load(&garbage).unwrap_err(),
        Error::CorruptFile { .. }
    ));
}

#[test]
fn the_committed_tables_read_with_the_task_guessed() {
    let iris = CsvReader::new()
        .target("species")
        .read(data("iris.csv"))
        .unwrap();
    assert_eq!((iris.len(), iris.input_width()), (150, 4));
    assert_eq!(iris.task(), Task::Classification);
    assert_eq!(
        iris.encoding().classes().unwrap(),
        ["setosa", "versicolor", "virginica"]
    );
    let cancer: Table = CsvReader::new()
        .target("target")
        .read(data("breast_cancer.csv"))
        .unwrap();
    assert_eq!((cancer.len(), cancer.input_width()), (569, 30));
    assert_eq!(cancer.task(), Task::Classification);
    assert_eq!(cancer.encoding().classes().unwrap(), ["0", "1"]);
    let malignant = cancer.labels().unwrap().iter().filter(|&&l| l == 0).count();
    assert_eq!(malignant, 212);
    let diabetes = CsvReader::new()
        .target("target")
        .read(data("diabetes.csv"))
        .unwrap();
    assert_eq!((diabetes.len(), diabetes.input_width()), (442, 10));
    assert_eq!(diabetes.task(), Task::Regression);
    // 59.0,2.0,32.1,101.0,157.0,93.2,38.0,4.0,4.8598,87.0,151.0
    assert_eq!(diabetes.targets()[[0, 0]], 151.0);
    assert_eq!(diabetes.inputs()[[0, 8]], 4.8598);
}

#[test]
fn a_column_of_numbers_with_text_further_down_is_text_with_every_spelling() {
    // The reader types columns as it goes: text after numbers makes it read the file again
    // with the column as text, so "1" and "1.0" stay two categories, as scikit-learn has them.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("code,x,label\n");
    for i in 0..3000 {
        let code = match i {
            0 => "1".to_string(),
            1 => "1.0".to_string(),
            2999 => "red".to_string(),
            _ => format!("{}", i % 3),
        };
        text.push_str(&format!(
            "{code},{i},{}\n",
            if i % 2 == 0 { "a" } else { "b" }
        ));
    }
    let path = write(&dir, "late.csv", &text);
    let table = CsvReader::new().target("label").read(&path).unwrap();
    assert_eq!(
        table.encoding().features()[0].kind,
        FeatureKind::OneHot {
            categories: vec![
                "0".into(),
                "1".into(),
                "1.0".into(),
                "2".into(),
                "red".into()
            ]
        }
    );
    assert_eq!(
        table.inputs().row(1).to_vec(),
        [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(
        table.inputs().row(2999).to_vec(),
        [0.0, 0.0, 0.0, 0.0, 1.0, 2999.0]
    );
    assert_eq!(table.labels().unwrap()[..3], [0, 1, 0]);

    // The same for the target: numbers, then a text label, make text classes.
    let path = write(&dir, "labels.csv", "x,y\n1,2\n2,10\n3,cat\n4,2\n");
    let table = CsvReader::new().target("y").read(&path).unwrap();
    assert_eq!(table.encoding().classes().unwrap(), ["10", "2", "cat"]);
    assert_eq!(table.labels().unwrap(), [1, 0, 2, 1]);
}

#[test]
fn a_numeric_target_with_many_distinct_values_is_a_regression_with_every_value() {
    // More than 1,000 distinct numbers: the guess turns to regression mid-file, and the rows
    // read before keep their values.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("x,y\n");
    for i in 0..2500 {
        text.push_str(&format!("{i},{}\n", i as f64 * 0.5));
    }
    let path = write(&dir, "reg.csv", &text);
    let table = CsvReader::new().target("y").read(&path).unwrap();
    assert_eq!(table.task(), Task::Regression);
    let expected: Vec<f32> = (0..2500).map(|i| i as f32 * 0.5).collect();
    assert_eq!(table.targets().column(0).to_vec(), expected);
    assert_eq!(table.lines()[2499], 2501);
    // Declared classification over so many classes meets the cap instead.
    let err = CsvReader::new()
        .target("y")
        .task(Task::Classification)
        .read(&path)
        .unwrap_err();
    assert!(err.to_string().contains("more than 1000 classes"), "{err}");
}
