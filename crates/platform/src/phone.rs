//! Phone numbers, parsed once and masked wherever they are shown to someone who need not see
//! them whole.

use std::fmt;

/// A mainland China phone number: an 11-digit mobile (1, then 3 to 9) or, where a caller may
/// ring from a fixed line, an area-code landline (0, then 9 to 11 digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

fn strip(raw: &str) -> String {
    let digits: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
        .collect();
    let national = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
        .unwrap_or(&digits);
    if national.len() == 13 {
        national.strip_prefix("86").unwrap_or(national).to_owned()
    } else {
        national.to_owned()
    }
}

fn is_mobile(digits: &str) -> bool {
    digits.len() == 11
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9')
}

fn is_landline(digits: &str) -> bool {
    (10..=12).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.starts_with('0')
        && !digits.starts_with("00")
}

impl PhoneNumber {
    /// Parses a mobile number, tolerating spaces, dashes and a `+86`/`86` prefix.
    pub fn parse(raw: &str) -> Option<PhoneNumber> {
        let digits = strip(raw);
        is_mobile(&digits).then_some(PhoneNumber(digits))
    }

    /// Parses a mobile or a landline with its area code (`024-2345 6789`).
    pub fn parse_any(raw: &str) -> Option<PhoneNumber> {
        let digits = strip(raw);
        (is_mobile(&digits) || is_landline(&digits)).then_some(PhoneNumber(digits))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first three and last two digits, the rest starred.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        format!("{}{}{}", &self.0[..3], "*".repeat(n - 5), &self.0[n - 2..])
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::PhoneNumber;

    #[test]
    fn mobiles_parse_with_prefixes_and_separators() {
        for raw in [
            "13800138000",
            "+86 138-0013-8000",
            "8613800138000",
            "0086 13800138000",
        ] {
            assert_eq!(
                PhoneNumber::parse(raw).unwrap().as_str(),
                "13800138000",
                "{raw}"
            );
        }
        for raw in [
            "12800138000",
            "1380013800",
            "138001380001",
            "1380013800a",
            "",
        ] {
            assert!(PhoneNumber::parse(raw).is_none(), "{raw}");
        }
    }

    #[test]
    fn landlines_parse_only_where_asked() {
        assert!(PhoneNumber::parse("024-23456789").is_none());
        assert_eq!(
            PhoneNumber::parse_any("024-2345 6789").unwrap().as_str(),
            "02423456789"
        );
        assert!(PhoneNumber::parse_any("00123456789").is_none());
        assert!(PhoneNumber::parse_any("0242").is_none());
    }

    #[test]
    fn masking_keeps_only_the_ends() {
        assert_eq!(
            PhoneNumber::parse("13800138000").unwrap().masked(),
            "138******00"
        );
        assert_eq!(
            PhoneNumber::parse_any("02423456789").unwrap().masked(),
            "024******89"
        );
    }
}
