//! The console's words in Simplified Chinese (the default) and English, and the names of the
//! API's codes (statuses, categories, bands, clocks, events) in each.

use std::collections::HashMap;
use std::sync::OnceLock;

mod codes;
mod refunds_orders;
mod regulator;
mod staff;
mod tickets;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese, the default.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language a cookie value names; Chinese unless it says English.
    pub fn from_cookie(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The cookie value and the `lang` attribute of the page.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// Looks words up in one language; `Copy`, so every page template holds one.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    /// The words for `key`; the key itself when there are none (a code the console does not
    /// know yet shows as the API names it).
    pub fn s<'a>(&self, key: &'a str) -> &'a str {
        match table().get(key) {
            Some((zh, en)) => match self.0 {
                Lang::Zh => zh,
                Lang::En => en,
            },
            None => key,
        }
    }

    /// The words for a code of a kind (`status.signed`, `band.at_risk`, ...).
    pub fn code(&self, kind: &str, code: &str) -> String {
        let key = format!("{kind}.{code}");
        match table().get(key.as_str()) {
            Some((zh, en)) => match self.0 {
                Lang::Zh => (*zh).to_owned(),
                Lang::En => (*en).to_owned(),
            },
            None => code.to_owned(),
        }
    }

    /// The page's language.
    pub fn lang(&self) -> &'static str {
        self.0.code()
    }

    /// Whether the page is in English.
    pub fn english(&self) -> bool {
        self.0 == Lang::En
    }
}

fn table() -> &'static HashMap<&'static str, (&'static str, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        TABLES
            .iter()
            .flat_map(|words| words.iter())
            .map(|(k, zh, en)| (*k, (*zh, *en)))
            .collect()
    })
}

/// Every key with its Chinese and English words, by the pages that use them.
const TABLES: [&[(&str, &str, &str)]; 5] = [
    staff::WORDS,
    codes::WORDS,
    tickets::WORDS,
    regulator::WORDS,
    refunds_orders::WORDS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_given_words_twice() {
        let mut seen = std::collections::HashSet::new();
        let twice: Vec<&str> = TABLES
            .iter()
            .flat_map(|words| words.iter())
            .filter(|(key, _, _)| !seen.insert(*key))
            .map(|(key, _, _)| *key)
            .collect();
        assert!(twice.is_empty(), "keys given words twice: {twice:?}");
        assert_eq!(table().len(), seen.len());
    }
}
