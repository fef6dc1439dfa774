//! The suppliers' names by id, as the public registry gives them, read at most once a minute:
//! pages name a supplier as the public board does (哈尔滨热力集团), not by its id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::api;

/// How long names read are used before they are read again: a supplier registered or renamed
/// shows by its name within this.
const FRESH_FOR: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
struct SupplierName {
    supplier_id: String,
    name: String,
}

/// Every supplier's name by its id.
pub(crate) type Names = Arc<HashMap<String, String>>;

/// The names last read, and when.
#[derive(Debug, Default)]
pub(crate) struct SupplierNames {
    last: Mutex<Option<(Instant, Names)>>,
}

impl SupplierNames {
    /// Every supplier's name by id: the last read while it is fresh, else read again. When the
    /// registry cannot be read, the names known before (none at first): pages then show ids.
    pub(crate) async fn all(&self, api: &api::Client) -> Names {
        let last = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some((at, names)) = &last
            && at.elapsed() < FRESH_FOR
        {
            return names.clone();
        }
        match api
            .get::<Vec<SupplierName>>("/api/v1/credit/public/suppliers", None)
            .await
        {
            Ok(list) => {
                let names: Names =
                    Arc::new(list.into_iter().map(|s| (s.supplier_id, s.name)).collect());
                *self.last.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some((Instant::now(), names.clone()));
                names
            }
            Err(failure) => {
                tracing::warn!(code = %failure.code, "the suppliers' names could not be read");
                last.map(|(_, names)| names).unwrap_or_default()
            }
        }
    }
}

/// A supplier as a page shows it: its name, or its id when the registry does not name it.
pub(crate) fn supplier(names: &HashMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_supplier_is_shown_by_its_name_or_else_its_id() {
        let names = HashMap::from([("harbin-heat".to_owned(), "哈尔滨热力集团".to_owned())]);
        assert_eq!(supplier(&names, "harbin-heat"), "哈尔滨热力集团");
        assert_eq!(supplier(&names, "unregistered"), "unregistered");
    }
}
