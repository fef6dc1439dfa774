//! Integration events: the protobuf messages of `proto/`, generated at build time.
//!
//! These types are what one Heatline service tells another. Domain types never derive prost;
//! each service converts its own types to and from these with `From`/`TryFrom`.
//! Every message implements [`prost::Name`], whose `full_name()` is the type name stored
//! beside the bytes in the public log.

#![warn(missing_docs)]

/// `heatline.selftest.v1`: the event store's self-test aggregate (tests and benchmarks only).
pub mod selftest {
    /// Version 1.
    #[allow(missing_docs)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/heatline.selftest.v1.rs"));
    }
}

/// `heatline.intake.v1`: complaints accepted, merged, routed, rejected, withdrawn; incidents.
pub mod intake {
    /// Version 1.
    #[allow(missing_docs)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/heatline.intake.v1.rs"));
    }
}

/// `heatline.dispatch.v1`: the life of a repair ticket, its SLA breaches and its feedback.
pub mod dispatch {
    /// Version 1.
    #[allow(missing_docs)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/heatline.dispatch.v1.rs"));
    }
}

/// `heatline.credit.v1`: the supplier credit ledger, grades and appeals.
pub mod credit {
    /// Version 1.
    #[allow(missing_docs)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/heatline.credit.v1.rs"));
    }
}

pub use prost::{Message, Name};

#[cfg(test)]
mod tests {
    use super::selftest::v1::ProbeTicked;
    use super::{Message, Name};

    #[test]
    fn a_message_survives_encoding_and_names_its_full_type() {
        let ticked = ProbeTicked {
            probe_id: "p-1".into(),
            amount: -3,
            total: 39,
        };
        let bytes = ticked.encode_to_vec();
        assert_eq!(ProbeTicked::decode(bytes.as_slice()).unwrap(), ticked);
        assert_eq!(ProbeTicked::full_name(), "heatline.selftest.v1.ProbeTicked");
    }
}
