//! The train/test splits select exactly the rows scikit-learn selects.

use feedforward::data::{stratified_train_test_split, train_test_split};
use feedforward::Error;

/// Parses `[1, 2, 3]`.
fn list(text: &str) -> Vec<usize> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect()
}

#[test]
fn stratified_split_selects_the_rows_scikit_learn_selects() {
    // Written by scripts/stratified_split_reference.py (scikit-learn 1.9.1).
    let reference = include_str!("fixtures/stratified_split.txt");
    let lines: Vec<&str> = reference.lines().collect();
    assert_eq!(lines.len(), 18);
    for case in lines.chunks(3) {
        let (labels, rest) = case[0].split_at(case[0].find(']').unwrap() + 1);
        let labels = list(labels);
        let mut rest = rest.split_whitespace();
        let fraction: f64 = rest.next().unwrap().parse().unwrap();
        let seed: u32 = rest.next().unwrap().parse().unwrap();
        let train = list(case[1].trim().strip_prefix("train").unwrap());
        let test = list(case[2].trim().strip_prefix("test").unwrap());
        let split = stratified_train_test_split(&labels, fraction, seed).unwrap();
        assert_eq!(split.train, train, "{}", case[0]);
        assert_eq!(split.test, test, "{}", case[0]);
    }
}

#[test]
fn stratified_split_keeps_class_proportions_and_every_row_once() {
    // 3 classes of 100, 60 and 20 rows; 25% test: 25, 15 and 5 test rows.
    let labels: Vec<usize> = (0..180)
        .map(|i| match i % 9 {
            0..=4 => 0,
            5..=7 => 1,
            _ => 2,
        })
        .collect();
    let split = stratified_train_test_split(&labels, 0.25, 11).unwrap();
    assert_eq!(split.test.len(), 45);
    let count = |rows: &[usize], class| rows.iter().filter(|&&r| labels[r] == class).count();
    assert_eq!(
        [0, 1, 2].map(|c| count(&split.test, c)),
        [25, 15, 5],
        "test part"
    );
    assert_eq!(
        [0, 1, 2].map(|c| count(&split.train, c)),
        [75, 45, 15],
        "training part"
    );
    let mut all: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..180).collect::<Vec<_>>());
    // The same seed gives the same split; the plain split's sizes are the same.
    assert_eq!(
        stratified_train_test_split(&labels, 0.25, 11).unwrap(),
        split
    );
    assert_eq!(train_test_split(180, 0.25, 11).unwrap().test.len(), 45);
}

#[test]
fn stratified_split_refuses_what_scikit_learn_refuses() {
    // A class with a single member.
    let err = stratified_train_test_split(&[0, 0, 1, 0, 0], 0.4, 0).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    assert!(err.to_string().contains("single row"), "{err}");
    // A test part smaller than the number of classes: 10 rows, 3 classes, 1 test row.
    let labels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
    let err = stratified_train_test_split(&labels, 0.1, 0).unwrap_err();
    assert!(
        err.to_string().contains("at least one row per class"),
        "{err}"
    );
    assert!(stratified_train_test_split(&labels, 1.0, 0).is_err());
    assert!(stratified_train_test_split(&[], 0.5, 0).is_err());
}
