//! CSV as the reference wrote and read it (Python's `csv` module, `excel`
//! dialect): fields separated by commas, records ended by CRLF, a field
//! quoted only when it holds a comma, a quote or a line break, a quote in
//! it doubled. The reader takes what that writer writes, LF line ends too,
//! and reads one record at a time from any `BufRead`, so an import never
//! holds its whole file.

use std::io::{self, BufRead};

/// Appends one field, quoted when it must be.
pub fn push_field(out: &mut Vec<u8>, field: &str) {
    let needs_quotes = field
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n' | 0));
    if !needs_quotes {
        out.extend_from_slice(field.as_bytes());
        return;
    }
    out.push(b'"');
    for byte in field.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    out.push(b'"');
}

/// Appends one record and its CRLF.
pub fn push_record<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = &'a str>) {
    for (index, field) in fields.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        push_field(out, field);
    }
    out.extend_from_slice(b"\r\n");
}

/// A record, with the line it starts on (from 1), for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// Reads records one at a time; blank lines are skipped, as Python's
/// `DictReader` skipped them.
pub struct Reader<R: BufRead> {
    input: R,
    /// the line the next read starts on
    line: usize,
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Reader<R> {
        Reader { input, line: 1 }
    }

    /// The next record, None at the end; an error for bytes that are not
    /// UTF-8 or a quoted field never closed.
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        loop {
            let start = self.line;
            let mut raw = Vec::new();
            if self.input.read_until(b'\n', &mut raw)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            // a field in quotes may hold line breaks: read on until its end
            while open_quote(&raw) {
                if self.input.read_until(b'\n', &mut raw)? == 0 {
                    return Err(invalid(start, "a quoted field is never closed"));
                }
                self.line += 1;
            }
            let text = String::from_utf8(raw).map_err(|_| invalid(start, "not UTF-8"))?;
            // a byte order mark some editors put first
            let text = match start {
                1 => text.strip_prefix('\u{feff}').unwrap_or(&text),
                _ => &text,
            };
            let text = text
                .strip_suffix('\n')
                .map(|t| t.strip_suffix('\r').unwrap_or(t))
                .unwrap_or(text);
            if text.is_empty() {
                continue;
            }
            return Ok(Some(Record {
                line: start,
                fields: split(text),
            }));
        }
    }
}

fn invalid(line: usize, what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("line {line}: {what}"))
}

/// Whether `raw` ends inside a quoted field.
fn open_quote(raw: &[u8]) -> bool {
    let mut quoted = false;
    let mut at_field_start = true;
    let mut index = 0;
    while index < raw.len() {
        let byte = raw[index];
        if quoted {
            if byte == b'"' {
                if raw.get(index + 1) == Some(&b'"') {
                    index += 1;
                } else {
                    quoted = false;
                }
            }
        } else if byte == b'"' && at_field_start {
            quoted = true;
        }
        at_field_start = !quoted && byte == b',';
        index += 1;
    }
    quoted
}

/// The fields of one record's text (its line end removed). A quote opens
/// a quoted field only at the field's start; what follows a closing quote
/// up to the comma is kept, as Python's reader kept it.
fn split(text: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            other => {
                field.push(other);
                at_field_start = false;
            }
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Vec<Vec<String>> {
        let mut reader = Reader::new(text.as_bytes());
        let mut all = Vec::new();
        while let Some(record) = reader.next_record().expect("valid CSV") {
            all.push(record.fields);
        }
        all
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be_as_pythons_writer_does() {
        let mut out = Vec::new();
        push_record(
            &mut out,
            [
                "plain",
                "",
                "a, b",
                "say \"hi\"",
                "two\nlines",
                "cr\r",
                " spaced ",
                "Jérôme",
            ],
        );
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "plain,,\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\", spaced ,Jérôme\r\n"
        );
    }

    #[test]
    fn what_the_writer_writes_reads_back() {
        let rows = [
            vec!["Call Date", "Caller", "Called", "Period", "user Field"],
            vec![
                "2013-01-29T08:46:20",
                "Jo, \"the\" boss (1001)",
                "",
                "12",
                "two\r\nlines",
            ],
            vec!["", "", "", "", ""],
        ];
        let mut out = Vec::new();
        for row in &rows {
            push_record(&mut out, row.iter().copied());
        }
        let read = records(std::str::from_utf8(&out).expect("utf-8"));
        assert_eq!(
            read,
            rows.map(|r| r.iter().map(|f| f.to_string()).collect::<Vec<_>>())
        );
    }

    #[test]
    fn lf_line_ends_a_bom_and_blank_lines_are_taken() {
        assert_eq!(
            records("\u{feff}a,b\n\n1,2\r\n\r\n3,\"4\"\n"),
            vec![vec!["a", "b"], vec!["1", "2"], vec!["3", "4"]]
        );
    }

    #[test]
    fn quotes_inside_an_unquoted_field_are_plain_characters() {
        assert_eq!(records("ab\"c,\"d\"e\n"), vec![vec!["ab\"c", "de"]]);
    }

    #[test]
    fn records_say_the_line_they_start_on() {
        let mut reader = Reader::new("h\n\"a\nb\"\nc\n".as_bytes());
        let lines: Vec<usize> = std::iter::from_fn(|| reader.next_record().expect("valid"))
            .map(|r| r.line)
            .collect();
        assert_eq!(lines, vec![1, 2, 4]);
    }

    #[test]
    fn an_unclosed_quote_and_bad_utf8_are_errors_naming_the_line() {
        let mut reader = Reader::new("h\n\"open\nstill open\n".as_bytes());
        reader.next_record().expect("header");
        let error = reader.next_record().expect_err("unclosed");
        assert_eq!(error.to_string(), "line 2: a quoted field is never closed");
        let mut reader = Reader::new(&b"h\n\xff\n"[..]);
        reader.next_record().expect("header");
        assert_eq!(
            reader.next_record().expect_err("not utf-8").to_string(),
            "line 2: not UTF-8"
        );
    }
}
