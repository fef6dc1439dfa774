//! Reading a complaint from a request body: every field checked, every bad one reported.

use platform::phone::PhoneNumber;
use serde_json::{Map, Value};

use crate::domain::values::{Address, Category, Celsius, HeatingAccountNo};

/// The longest description, in characters.
pub const MAX_DESCRIPTION: usize = 2000;
/// The most photos on one complaint.
pub const MAX_PHOTOS: usize = 3;

pub use platform::fields::{FieldError, FieldErrors};

/// What a complaint form says, every field valid.
#[derive(Debug, Clone)]
pub struct ComplaintInput {
    /// The category.
    pub category: Category,
    /// The heating account.
    pub account: Option<HeatingAccountNo>,
    /// The address.
    pub address: Option<Address>,
    /// The resident's reading.
    pub reading: Option<Celsius>,
    /// The description.
    pub description: String,
    /// The phone to call back.
    pub contact_phone: Option<PhoneNumber>,
    /// Photo ids.
    pub photos: Vec<String>,
}

/// Reads the complaint fields shared by every JSON channel: `category`, `heating_account`,
/// `address`, `room_temperature`, `description`, `contact_phone`, `photos`. The phone field
/// is named `phone_field` (the caller's phone for operators). At least one of account and
/// address is needed.
pub fn complaint(
    body: &Map<String, Value>,
    phone_field: &str,
    phone_required: bool,
    errors: &mut FieldErrors,
) -> Option<ComplaintInput> {
    let category = match errors.text(body, "category", 64) {
        None if !errors.0.iter().any(|e| e.field == "category") => {
            errors.add("category", "required", "the category is required");
            None
        }
        None => None,
        Some(code) => {
            let category = Category::parse(&code);
            if category.is_none() {
                let known: Vec<&str> = Category::ALL.iter().map(|c| c.code()).collect();
                errors.add(
                    "category",
                    "unknown_category",
                    format!("unknown category {code:?}; one of {}", known.join(", ")),
                );
            }
            category
        }
    };
    let account = errors.text(body, "heating_account", 64).and_then(|raw| {
        let parsed = HeatingAccountNo::parse(&raw);
        if parsed.is_none() {
            errors.add("heating_account", "invalid", "6 to 20 letters and digits");
        }
        parsed
    });
    let address = errors.text(body, "address", 200).and_then(|raw| {
        let parsed = Address::parse(&raw);
        if parsed.is_none() {
            errors.add("address", "invalid", "4 to 200 characters");
        }
        parsed
    });
    if account.is_none()
        && address.is_none()
        && !errors
            .0
            .iter()
            .any(|e| e.field == "address" || e.field == "heating_account")
    {
        errors.add(
            "address",
            "address_or_account_required",
            "give the heating account number or the address",
        );
    }
    let reading = errors.number(body, "room_temperature").and_then(|degrees| {
        let parsed = Celsius::parse(degrees);
        if parsed.is_none() {
            errors.add(
                "room_temperature",
                "out_of_range",
                format!(
                    "a room reads between {} and {} ℃",
                    Celsius::MIN,
                    Celsius::MAX
                ),
            );
        }
        parsed
    });
    let description = errors
        .text(body, "description", MAX_DESCRIPTION)
        .unwrap_or_default();
    let contact_phone = match errors.text(body, phone_field, 32) {
        Some(raw) => {
            let parsed = PhoneNumber::parse_any(&raw);
            if parsed.is_none() {
                errors.add(
                    phone_field,
                    "invalid",
                    "a mainland mobile or landline number",
                );
            }
            parsed
        }
        None if phone_required && !errors.0.iter().any(|e| e.field == phone_field) => {
            errors.add(phone_field, "required", "the caller's phone is required");
            None
        }
        None => None,
    };
    let photos = photos(body, errors);
    Some(ComplaintInput {
        category: category?,
        account,
        address,
        reading,
        description,
        contact_phone,
        photos,
    })
}

fn photos(body: &Map<String, Value>, errors: &mut FieldErrors) -> Vec<String> {
    match body.get("photos") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() > MAX_PHOTOS => {
            errors.add("photos", "too_many", format!("at most {MAX_PHOTOS} photos"));
            Vec::new()
        }
        Some(Value::Array(items)) => {
            let mut ids = Vec::new();
            for item in items {
                match item.as_str().filter(|id| crate::photos::is_photo_id(id)) {
                    Some(id) => ids.push(id.to_owned()),
                    None => {
                        errors.add(
                            "photos",
                            "invalid",
                            "photo ids as returned by /api/v1/photos",
                        );
                        return Vec::new();
                    }
                }
            }
            ids
        }
        Some(_) => {
            errors.add("photos", "wrong_type", "must be an array of photo ids");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(body: Value) -> (Option<ComplaintInput>, Vec<(String, &'static str)>) {
        let mut errors = FieldErrors::default();
        let input = complaint(
            body.as_object().unwrap(),
            "contact_phone",
            false,
            &mut errors,
        );
        let listed = errors.0.iter().map(|e| (e.field.clone(), e.code)).collect();
        (input, listed)
    }

    #[test]
    fn every_bad_field_is_listed_at_once() {
        let (_, errors) = read(json!({
            "category": "cold",
            "room_temperature": 200,
            "contact_phone": 12,
            "photos": "a.jpg",
        }));
        assert_eq!(
            errors,
            vec![
                ("category".to_owned(), "unknown_category"),
                ("address".to_owned(), "address_or_account_required"),
                ("room_temperature".to_owned(), "out_of_range"),
                ("contact_phone".to_owned(), "wrong_type"),
                ("photos".to_owned(), "wrong_type"),
            ]
        );
    }

    #[test]
    fn a_good_form_reads_whole() {
        let (input, errors) = read(json!({
            "category": "low_temperature",
            "heating_account": "hl-2024-0001",
            "room_temperature": 15.5,
            "description": "cold",
            "contact_phone": "138 0013 8000",
        }));
        assert!(errors.is_empty(), "{errors:?}");
        let input = input.unwrap();
        assert_eq!(input.account.unwrap().as_str(), "HL20240001");
        assert_eq!(input.reading.unwrap().tenths(), 155);
        assert_eq!(input.contact_phone.unwrap().as_str(), "13800138000");
    }

    #[test]
    fn a_missing_category_and_a_temperature_given_as_text_are_refused() {
        let (input, errors) =
            read(json!({"address": "和平区南京路100号", "room_temperature": "16"}));
        assert!(input.is_none());
        assert_eq!(
            errors,
            vec![
                ("category".to_owned(), "required"),
                ("room_temperature".to_owned(), "wrong_type"),
            ]
        );
    }
}
