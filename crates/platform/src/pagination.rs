//! Cursor pagination: a list ordered by a time and an id continues after the last item of the
//! previous page, whatever was inserted meanwhile.

use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

/// Where the next page starts: after the item with this time and id. Its text form is opaque
/// to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The sort time of the last item.
    pub at: DateTime<Utc>,
    /// Its id.
    pub id: Uuid,
}

impl Cursor {
    /// The opaque text form.
    pub fn encode(&self) -> String {
        let raw = format!("{}:{}", self.at.timestamp_micros(), self.id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads the text form; `None` for anything else, a time outside the years 1 to 9999
    /// included (PostgreSQL's timestamps stop far short of chrono's).
    pub fn decode(text: &str) -> Option<Cursor> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (micros, id) = raw.split_once(':')?;
        let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        (1..=9999).contains(&at.year()).then_some(())?;
        Some(Cursor {
            at,
            id: id.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_garbage_does_not() {
        let cursor = Cursor {
            at: DateTime::from_timestamp_micros(1_800_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode("MTIzOnh5eg"), None);
        let beyond_postgres = Cursor {
            at: DateTime::from_timestamp_micros(i64::MAX / 2).unwrap(),
            id: Uuid::nil(),
        };
        assert_eq!(Cursor::decode(&beyond_postgres.encode()), None);
    }
}
