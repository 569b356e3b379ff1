//! Cells and names quoted in error messages, cut short: a message says which cell is wrong
//! without copying a cell of 200 MB into itself.

/// The most characters of a cell (or a column name) that an error message quotes.
pub(crate) const QUOTED_CHARACTERS: usize = 80;

/// `text` quoted as `{:?}` does, cut after [`QUOTED_CHARACTERS`] characters with its length
/// in bytes said, so that one huge cell cannot make a huge error message.
pub(crate) fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARACTERS) {
        None => format!("{text:?}"),
        Some((end, _)) => format!("{:?}... ({} bytes in all)", &text[..end], text.len()),
    }
}

/// Names (categories, classes, columns) joined by `, `, each cut as [`quote`] cuts a cell, at
/// most ten of them, then how many there are in all (the CSV reader's messages).
#[cfg(feature = "csv")]
pub(crate) fn list(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let short = |name: &String| match name.char_indices().nth(QUOTED_CHARACTERS) {
        None => name.clone(),
        Some((end, _)) => format!("{}...", &name[..end]),
    };
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(short)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(", ... ({} in all)", names.len()));
    }
    text
}
