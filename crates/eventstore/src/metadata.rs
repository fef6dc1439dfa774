//! The metadata carried by every stored event: who did it, through which channel, and why.
//!
//! Regulators audit by these fields, so a commit without them is refused rather than stored
//! half-described. cqrs-es passes metadata as a `HashMap<String, String>`; [`EventMetadata`]
//! is the typed form and converts both ways.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The resident's mobile app.
    App,
    /// The WeChat mini-program.
    Wechat,
    /// The city's 12345 hotline (platform push or an operator on a caller's behalf).
    Hotline,
    /// An Open311 GeoReport v2 client.
    Open311,
    /// A staff web console (dispatcher, supplier, regulator, admin).
    Console,
    /// Heatline itself: timers, process managers, imports.
    System,
}

impl Channel {
    /// The stable name stored in metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::App => "app",
            Channel::Wechat => "wechat",
            Channel::Hotline => "hotline",
            Channel::Open311 => "open311",
            Channel::Console => "console",
            Channel::System => "system",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = MetadataError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "app" => Channel::App,
            "wechat" => Channel::Wechat,
            "hotline" => Channel::Hotline,
            "open311" => Channel::Open311,
            "console" => Channel::Console,
            "system" => Channel::System,
            other => return Err(MetadataError::Invalid("channel", other.to_owned())),
        })
    }
}

/// Who issued a command: a user id and the role they acted in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user's id (`system` for Heatline itself).
    pub id: String,
    /// The role the user acted in (`resident`, `dispatcher`, ..., `system`).
    pub role: String,
}

impl Actor {
    /// Heatline itself, for timers, process managers and imports.
    pub fn system() -> Self {
        Actor {
            id: "system".into(),
            role: "system".into(),
        }
    }
}

/// Metadata written with every event of one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    /// Who issued the command.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// Ties together everything that one original request set off, across services.
    pub correlation_id: Uuid,
    /// The event or request that directly caused this command.
    pub causation_id: Option<Uuid>,
    /// The HTTP request id (also in the logs), when a request caused it.
    pub request_id: Option<String>,
}

/// Metadata that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// A required key is absent.
    #[error("event metadata lacks `{0}`")]
    Missing(&'static str),
    /// A key holds a value that does not parse.
    #[error("event metadata `{0}` is not valid: {1:?}")]
    Invalid(&'static str, String),
}

const ACTOR_ID: &str = "actor_id";
const ACTOR_ROLE: &str = "actor_role";
const CHANNEL: &str = "channel";
const CORRELATION_ID: &str = "correlation_id";
const CAUSATION_ID: &str = "causation_id";
const REQUEST_ID: &str = "request_id";

impl EventMetadata {
    /// Metadata for a command that starts a new chain of causes (its correlation id is new).
    pub fn new(actor: Actor, channel: Channel) -> Self {
        EventMetadata {
            actor,
            channel,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            request_id: None,
        }
    }

    /// Sets the request id of the HTTP request that issued the command.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets the event or request that caused this command.
    pub fn caused_by(mut self, causation_id: Uuid) -> Self {
        self.causation_id = Some(causation_id);
        self
    }

    /// Continues an existing correlation (a process manager reacting to an event).
    pub fn correlated_with(mut self, correlation_id: Uuid) -> Self {
        self.correlation_id = correlation_id;
        self
    }

    /// The form cqrs-es carries through `execute_with_metadata`.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::with_capacity(6);
        map.insert(ACTOR_ID.into(), self.actor.id.clone());
        map.insert(ACTOR_ROLE.into(), self.actor.role.clone());
        map.insert(CHANNEL.into(), self.channel.as_str().into());
        map.insert(CORRELATION_ID.into(), self.correlation_id.to_string());
        if let Some(causation) = self.causation_id {
            map.insert(CAUSATION_ID.into(), causation.to_string());
        }
        if let Some(request) = &self.request_id {
            map.insert(REQUEST_ID.into(), request.clone());
        }
        map
    }

    /// Parses the map form; actor, channel and correlation id are required.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, MetadataError> {
        let required = |key: &'static str| {
            map.get(key)
                .filter(|v| !v.is_empty())
                .ok_or(MetadataError::Missing(key))
        };
        let uuid = |key: &'static str, value: &String| {
            Uuid::parse_str(value).map_err(|_| MetadataError::Invalid(key, value.clone()))
        };
        Ok(EventMetadata {
            actor: Actor {
                id: required(ACTOR_ID)?.clone(),
                role: required(ACTOR_ROLE)?.clone(),
            },
            channel: required(CHANNEL)?.parse()?,
            correlation_id: uuid(CORRELATION_ID, required(CORRELATION_ID)?)?,
            causation_id: map
                .get(CAUSATION_ID)
                .map(|v| uuid(CAUSATION_ID, v))
                .transpose()?,
            request_id: map.get(REQUEST_ID).cloned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_through_the_map_cqrs_es_carries() {
        let meta = EventMetadata::new(
            Actor {
                id: "u-7".into(),
                role: "dispatcher".into(),
            },
            Channel::Console,
        )
        .with_request_id("req-1")
        .caused_by(Uuid::now_v7());
        assert_eq!(EventMetadata::from_map(&meta.to_map()).unwrap(), meta);
    }

    #[test]
    fn metadata_without_an_actor_or_with_an_unknown_channel_is_refused() {
        let mut map = EventMetadata::new(Actor::system(), Channel::System).to_map();
        map.insert("channel".into(), "fax".into());
        assert_eq!(
            EventMetadata::from_map(&map),
            Err(MetadataError::Invalid("channel", "fax".into()))
        );
        map.remove("actor_id");
        assert_eq!(
            EventMetadata::from_map(&map),
            Err(MetadataError::Missing("actor_id"))
        );
    }
}
