//! Registry files: CSV with a header line, read whole before anything is stored, every error
//! naming the line and the column (never a field number), the header checked first.

use serde::de::DeserializeOwned;

/// A file that cannot be read as the table it should be: the 1-based line (the header is line
/// 1) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    /// The line.
    pub line: u64,
    /// What is wrong, naming the column where there is one.
    pub reason: String,
}

/// Reads the rows of `text` as `T`, each with its line number. The header must hold every
/// column of `required`, may hold those of `optional`, and nothing else.
pub fn read<T: DeserializeOwned>(
    text: &[u8],
    required: &[&str],
    optional: &[&str],
) -> Result<Vec<(u64, T)>, TableError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text);
    let header_error = |reason: String| TableError { line: 1, reason };
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| header_error(format!("the header cannot be read: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    let expected = || {
        let mut all: Vec<&str> = required.to_vec();
        all.extend(optional.iter().copied());
        all.join(",")
    };
    if let Some(unknown) = headers
        .iter()
        .find(|h| !required.contains(&h.as_str()) && !optional.contains(&h.as_str()))
    {
        return Err(header_error(format!(
            "the header has an unknown column {unknown:?}; expected {}",
            expected()
        )));
    }
    if let Some(missing) = required.iter().find(|c| !headers.iter().any(|h| h == *c)) {
        return Err(header_error(format!(
            "the header lacks column {missing}; expected {}",
            expected()
        )));
    }
    let header_record = reader
        .headers()
        .map_err(|e| header_error(format!("the header cannot be read: {e}")))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| explain(&e, &headers, 0))?;
        let line = record.position().map_or(0, csv::Position::line);
        let row = record
            .deserialize(Some(&header_record))
            .map_err(|e| explain(&e, &headers, line))?;
        rows.push((line, row));
    }
    Ok(rows)
}

fn explain(error: &csv::Error, headers: &[String], line: u64) -> TableError {
    let line = error.position().map_or(line, csv::Position::line);
    let reason = match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let column = err
                .field()
                .and_then(|i| headers.get(i as usize))
                .map_or_else(String::new, |name| format!("column {name}: "));
            let what = match err.kind() {
                csv::DeserializeErrorKind::ParseFloat(_) => "not a number".to_owned(),
                csv::DeserializeErrorKind::ParseInt(_) => "not a whole number".to_owned(),
                csv::DeserializeErrorKind::ParseBool(_) => "not true or false".to_owned(),
                other => other.to_string(),
            };
            format!("{column}{what}")
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_owned(),
        _ => error.to_string(),
    };
    TableError { line, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Row {
        id: String,
        area: f64,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn errors_name_the_line_and_the_column() {
        let rows: Vec<(u64, Row)> =
            read(b"id,area\na,1.5\nb,2\n", &["id", "area"], &["note"]).unwrap();
        assert_eq!(rows.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [2, 3]);
        let bad = read::<Row>(b"id,area\na,1.5\nb,lots\n", &["id", "area"], &[]).unwrap_err();
        assert_eq!(
            bad,
            TableError {
                line: 3,
                reason: "column area: not a number".into()
            }
        );
        let header = read::<Row>(b"id,size\na,1\n", &["id", "area"], &[]).unwrap_err();
        assert_eq!(header.line, 1);
        assert!(
            header.reason.contains("unknown column \"size\""),
            "{}",
            header.reason
        );
        let missing = read::<Row>(b"id\na\n", &["id", "area"], &[]).unwrap_err();
        assert!(
            missing.reason.contains("lacks column area"),
            "{}",
            missing.reason
        );
        let short = read::<Row>(b"id,area\na\n", &["id", "area"], &[]).unwrap_err();
        assert_eq!(short.line, 2);
        assert!(
            short.reason.contains("1 fields where the header has 2"),
            "{}",
            short.reason
        );
    }
}
