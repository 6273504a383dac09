//! A minimal RFC 4180 reader: enough for the IEEE registry CSVs (quoted fields with `""`
//! escapes and line breaks inside quotes, CRLF or LF records). Kept here rather than pulling a
//! CSV crate into the binary for one dev-time input.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CSV record {record}: {what}")]
pub struct CsvError {
    pub record: usize,
    pub what: &'static str,
}

/// Splits `text` into records of fields. A trailing line break does not make an empty record;
/// blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Vec<String>>, CsvError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    // Whether the current record has any field started (distinguishes a blank line).
    let mut started = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() => {
                started = true;
                // Quoted field: runs to the closing quote not followed by another quote.
                loop {
                    match chars.next() {
                        None => {
                            return Err(CsvError {
                                record: records.len() + 1,
                                what: "unterminated quoted field",
                            });
                        }
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(other) => field.push(other),
                    }
                }
                match chars.peek() {
                    None | Some(',') | Some('\n') | Some('\r') => {}
                    Some(_) => {
                        return Err(CsvError {
                            record: records.len() + 1,
                            what: "text after a closing quote",
                        });
                    }
                }
            }
            ',' => {
                started = true;
                record.push(std::mem::take(&mut field));
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if started || !field.is_empty() {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                started = false;
            }
            other => {
                started = true;
                field.push(other);
            }
        }
    }
    if started || !field.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quoted_fields_escapes_and_line_breaks() {
        let text = "Registry,Assignment,Organization Name,Organization Address\r\n\
                    MA-L,F4BD9E,\"Cisco Systems, Inc\",80 West Tasman Drive\n\
                    MA-L,001B21,Intel Corporate,\"Lot 8, Jalan\nPenang  MY\"\n\
                    \n\
                    MA-L,000000,\"A \"\"quoted\"\" name\",\n";
        let r = parse(text).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(
            r[1],
            [
                "MA-L",
                "F4BD9E",
                "Cisco Systems, Inc",
                "80 West Tasman Drive"
            ]
        );
        assert_eq!(r[2][3], "Lot 8, Jalan\nPenang  MY");
        assert_eq!(r[3], ["MA-L", "000000", "A \"quoted\" name", ""]);
    }

    #[test]
    fn malformed_is_an_error() {
        assert!(parse("a,\"b\n").is_err());
        assert!(parse("a,\"b\"c\n").is_err());
    }

    fn write(records: &[Vec<String>]) -> String {
        let mut s = String::new();
        for r in records {
            let fields: Vec<String> = r
                .iter()
                .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                .collect();
            s.push_str(&fields.join(","));
            s.push_str("\r\n");
        }
        s
    }

    proptest! {
        /// Whatever a conforming writer quotes comes back field for field.
        #[test]
        fn roundtrips_quoted_records(records in prop::collection::vec(
            prop::collection::vec(any::<String>(), 1..5), 0..8)) {
            prop_assert_eq!(parse(&write(&records)).unwrap(), records);
        }
    }
}
