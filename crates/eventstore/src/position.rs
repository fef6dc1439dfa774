//! Positions in the global order of a log.

use std::fmt;

/// A place in a log's global order: `(tx_id, global_position)`, compared in that order.
///
/// Readers order by the id of the writing transaction first, because identity values are handed
/// out before commit: a transaction may take position 10, commit after one that took 11, and
/// still be read before it. [`LogPosition::START`] is before every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LogPosition {
    /// The 64-bit id (`xid8`) of the transaction that wrote the event.
    pub tx_id: u64,
    /// The event's identity value within its log table.
    pub global_position: i64,
}

impl LogPosition {
    /// Before the first event of any log.
    pub const START: LogPosition = LogPosition {
        tx_id: 0,
        global_position: 0,
    };

    /// Parses the `xid8` text form PostgreSQL returns (`tx_id::text`).
    pub fn from_parts(tx_id: &str, global_position: i64) -> Result<Self, std::num::ParseIntError> {
        Ok(LogPosition {
            tx_id: tx_id.parse()?,
            global_position,
        })
    }

    /// The `xid8` in the text form PostgreSQL casts from (`$1::text::xid8`).
    pub fn tx_id_text(&self) -> String {
        self.tx_id.to_string()
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tx_id, self.global_position)
    }
}
