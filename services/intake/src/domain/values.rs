//! The value types of a complaint, each parsed once: holding one means it is valid.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a complaint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// No heat at all.
    NoHeat,
    /// Heat, but the room stays below the standard (the resident may give a reading).
    LowTemperature,
    /// A leak or a burst pipe: urgent.
    Leak,
    /// Noise from the heating system.
    Noise,
    /// A billing question or dispute.
    Billing,
    /// How staff treated the resident.
    ServiceAttitude,
    /// An application to stop heating (an empty home).
    StopHeating,
    /// A refund for days of late or insufficient heating.
    Refund,
}

impl Category {
    /// Every category, in the order the API lists them.
    pub const ALL: [Category; 8] = [
        Category::NoHeat,
        Category::LowTemperature,
        Category::Leak,
        Category::Noise,
        Category::Billing,
        Category::ServiceAttitude,
        Category::StopHeating,
        Category::Refund,
    ];

    /// The stable code (`no_heat`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Category::NoHeat => "no_heat",
            Category::LowTemperature => "low_temperature",
            Category::Leak => "leak",
            Category::Noise => "noise",
            Category::Billing => "billing",
            Category::ServiceAttitude => "service_attitude",
            Category::StopHeating => "stop_heating",
            Category::Refund => "refund",
        }
    }

    /// The category with this code.
    pub fn parse(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }

    /// A name a resident reads.
    pub fn name(self) -> &'static str {
        match self {
            Category::NoHeat => "No heat (不热/停暖)",
            Category::LowTemperature => "Room below 18 °C (室温不达标)",
            Category::Leak => "Leak or burst pipe (漏水/爆管)",
            Category::Noise => "Noise from the heating (噪音)",
            Category::Billing => "Heating bill (收费)",
            Category::ServiceAttitude => "Service attitude (服务态度)",
            Category::StopHeating => "Apply to stop heating (申请停暖)",
            Category::Refund => "Refund for poor heating (退费)",
        }
    }

    /// The priority a complaint of this category starts with.
    pub fn priority(self) -> Priority {
        match self {
            Category::Leak | Category::NoHeat => Priority::Urgent,
            _ => Priority::Normal,
        }
    }

    /// Whether a home is cold (these count towards incidents).
    pub fn is_heating_failure(self) -> bool {
        matches!(self, Category::NoHeat | Category::LowTemperature)
    }
}

/// How fast a complaint must be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// The general targets.
    Normal,
    /// A leak or a home without heat.
    Urgent,
}

/// The channel a complaint came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The resident's mobile app.
    App,
    /// The WeChat mini-program.
    Wechat,
    /// A hotline operator filing on a caller's behalf.
    HotlineOperator,
    /// A work order pushed by the city's 12345 platform.
    HotlinePlatform,
    /// A civic-reporting app through Open311 GeoReport v2.
    Open311,
    /// Heatline itself: the home's room sensors read below the standard for hours.
    Sensor,
}

/// A room temperature, in tenths of a degree Celsius, within what a room can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Celsius(i32);

impl Celsius {
    /// The lowest reading a room can give.
    pub const MIN: f64 = -40.0;
    /// The highest reading a room can give.
    pub const MAX: f64 = 45.0;

    /// Parses a reading in ℃ (rounded to a tenth); refuses what no room reads.
    pub fn parse(degrees: f64) -> Option<Celsius> {
        (degrees.is_finite() && (Self::MIN..=Self::MAX).contains(&degrees))
            .then(|| Celsius((degrees * 10.0).round() as i32))
    }

    /// From tenths of a degree (a stored value).
    pub fn from_tenths(tenths: i32) -> Celsius {
        Celsius(tenths)
    }

    /// Tenths of a degree.
    pub fn tenths(self) -> i32 {
        self.0
    }

    /// Degrees.
    pub fn degrees(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

/// A heating account number (供热户号): 6 to 20 letters and digits, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeatingAccountNo(String);

impl HeatingAccountNo {
    /// Parses an account number, ignoring spaces and dashes.
    pub fn parse(raw: &str) -> Option<HeatingAccountNo> {
        let normal: String = half_width(raw)
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        ((6..=20).contains(&normal.len()) && normal.chars().all(|c| c.is_ascii_alphanumeric()))
            .then_some(HeatingAccountNo(normal))
    }

    /// The normal form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal address in its normal form: full-width letters and digits made ASCII, whitespace
/// removed, 4 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address(String);

impl Address {
    /// Parses an address.
    pub fn parse(raw: &str) -> Option<Address> {
        let normal: String = half_width(raw)
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect();
        (4..=200)
            .contains(&normal.chars().count())
            .then_some(Address(normal))
    }

    /// The normal form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Part of an address as the registry keeps addresses (half-width, no spaces), for a
    /// search while someone types; none when nothing is left.
    pub fn fragment(raw: &str) -> Option<String> {
        let normal: String = half_width(raw)
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect();
        (!normal.is_empty()).then_some(normal)
    }

    /// Every leading part of the address, longest first, for a prefix lookup.
    pub fn prefixes(&self) -> Vec<String> {
        let mut ends: Vec<usize> = self.0.char_indices().map(|(i, _)| i).skip(1).collect();
        ends.push(self.0.len());
        ends.iter()
            .rev()
            .map(|&end| self.0[..end].to_owned())
            .collect()
    }
}

/// Full-width ASCII forms (Ａ１－) to their ASCII letters, and the ideographic space to a space.
fn half_width(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// The home a complaint is about: the same key for every complaint from it, whatever the
/// channel. It is derived from the heating account when one is known, else from the address
/// (or the position), through [`Pseudonyms`]: a keyed hash, so that the key names the home in
/// every service's records and in the public log without carrying the account number or the
/// address, which are personal data and erasable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Household(String);

/// The secret that turns a home's account or address into its [`Household`] key (HMAC-SHA256;
/// one per deployment, stored wrapped by the master key). Without it the keys cannot be linked
/// back to an account or an address by trying them all.
#[derive(Clone)]
pub struct Pseudonyms {
    key: [u8; 32],
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonyms(..)")
    }
}

impl Pseudonyms {
    /// The pseudonyms under `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Pseudonyms { key }
    }

    fn household(&self, kind: &str, value: &str) -> Household {
        use hmac::{Hmac, Mac};
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{kind}:{value}").as_bytes());
        let digest = mac.finalize().into_bytes();
        Household(format!("hh-{kind}-{}", hex::encode(&digest[..12])))
    }

    /// The household of a heating account.
    pub fn of_account(&self, account: &HeatingAccountNo) -> Household {
        self.household("acct", account.as_str())
    }

    /// The household at an address.
    pub fn of_address(&self, address: &Address) -> Household {
        self.household("addr", address.as_str())
    }

    /// The household at a position (Open311 reports without an address), to about 10 m.
    pub fn of_position(&self, lat: f64, long: f64) -> Household {
        self.household("geo", &format!("{lat:.4},{long:.4}"))
    }
}

impl Household {
    /// A key as stored beside a home's records (the sensor registry's, say).
    pub fn from_key(key: String) -> Household {
        Household(key)
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Household {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the building registry places a complaint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The building, when the address or account resolved.
    pub building_id: Option<String>,
    /// Its heat-exchange station.
    pub station: Option<String>,
    /// Its district.
    pub district: Option<String>,
    /// The supplier that heats it.
    pub supplier_id: Option<String>,
}

impl Route {
    /// Whether the complaint has a supplier to go to: the registry resolved its building, or
    /// it concerns a station's network as a whole.
    pub fn is_routed(&self) -> bool {
        self.supplier_id.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_outside_what_a_room_reads_are_refused() {
        assert_eq!(Celsius::parse(16.54).unwrap().tenths(), 165);
        assert_eq!(Celsius::parse(-40.0).unwrap().tenths(), -400);
        for bad in [-100.0, 200.0, 45.1, f64::NAN, f64::INFINITY] {
            assert!(Celsius::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn full_width_and_spaced_forms_normalise_to_one_key() {
        assert_eq!(
            HeatingAccountNo::parse(" ｈｌ-２０２４ 0001 ")
                .unwrap()
                .as_str(),
            "HL20240001"
        );
        assert!(HeatingAccountNo::parse("HL 1").is_none());
        assert!(HeatingAccountNo::parse("HL2024#001").is_none());
        let a = Address::parse("和平区 南京路１００号 3栋").unwrap();
        assert_eq!(a.as_str(), "和平区南京路100号3栋");
        let pseudonyms = Pseudonyms::new([7; 32]);
        assert_eq!(
            pseudonyms.of_address(&a),
            pseudonyms.of_address(&Address::parse("和平区南京路100号3栋").unwrap())
        );
    }

    #[test]
    fn a_household_key_names_the_home_without_its_account_or_address() {
        let account = HeatingAccountNo::parse("HL20240001").unwrap();
        let ours = Pseudonyms::new([7; 32]);
        let household = ours.of_account(&account);
        assert!(!household.as_str().contains("20240001"), "{household}");
        assert!(household.as_str().starts_with("hh-acct-"), "{household}");
        assert_eq!(
            household,
            ours.of_account(&account),
            "the same home, the same key"
        );
        let address = Address::parse("和平区南京路100号3栋").unwrap();
        assert_ne!(ours.of_address(&address), household);
        // Another deployment's key gives other pseudonyms: nothing to match across them.
        assert_ne!(Pseudonyms::new([8; 32]).of_account(&account), household);
    }

    #[test]
    fn an_address_lists_its_prefixes_longest_first() {
        let a = Address::parse("南京路1号").unwrap();
        assert_eq!(
            a.prefixes(),
            ["南京路1号", "南京路1", "南京路", "南京", "南"]
        );
    }

    #[test]
    fn categories_round_trip_through_their_codes() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.code()), Some(c));
        }
        assert_eq!(Category::parse("cold"), None);
        assert_eq!(Category::Leak.priority(), Priority::Urgent);
    }
}
