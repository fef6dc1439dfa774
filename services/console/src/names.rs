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

/// How long a read may take before the page goes on without it: the names are a nicety, and a
/// slow registry must not slow every page of a supplier's staff.
const READ_WITHIN: Duration = Duration::from_secs(2);

/// After a failed read, how long pages use what they had before the registry is asked again.
const RETRY_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize)]
struct SupplierName {
    supplier_id: String,
    name: String,
}

/// Every supplier's name by its id.
pub(crate) type Names = Arc<HashMap<String, String>>;

/// The names last read, and until when they are used without asking again.
#[derive(Debug, Default)]
pub(crate) struct SupplierNames {
    last: Mutex<Option<(Instant, Names)>>,
}

impl SupplierNames {
    /// Every supplier's name by id: the last read while it is fresh, else read again. When the
    /// registry cannot be read in time, the names known before (none at first), for a few
    /// seconds before it is asked again: pages then show ids.
    pub(crate) async fn all(&self, api: &api::Client) -> Names {
        let last = self
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some((until, names)) = &last
            && Instant::now() < *until
        {
            return names.clone();
        }
        let read = api.get::<Vec<SupplierName>>("/api/v1/credit/public/suppliers", None);
        let (names, fresh_for) = match tokio::time::timeout(READ_WITHIN, read).await {
            Ok(Ok(list)) => (
                Arc::new(list.into_iter().map(|s| (s.supplier_id, s.name)).collect()),
                FRESH_FOR,
            ),
            failed => {
                let why = match failed {
                    Ok(Err(failure)) => failure.code,
                    _ => "timeout".to_owned(),
                };
                tracing::warn!(code = %why, "the suppliers' names could not be read");
                (
                    last.map(|(_, names)| names).unwrap_or_default(),
                    RETRY_AFTER,
                )
            }
        };
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now() + fresh_for, names.clone()));
        names
    }
}

/// A supplier as a page shows it: its name, or its id when the registry does not name it.
pub(crate) fn supplier(names: &HashMap<String, String>, id: &str) -> String {
    names.get(id).cloned().unwrap_or_else(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_registry_that_does_not_answer_holds_a_page_up_once_and_briefly() {
        // A server that accepts connections and never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let api = api::Client::new(api::ApiBase::at(&format!(
            "http://{}",
            silent.local_addr().unwrap()
        )));
        let names = SupplierNames::default();
        let started = Instant::now();
        assert!(names.all(&api).await.is_empty(), "no names: pages show ids");
        let waited = started.elapsed();
        assert!(
            waited >= READ_WITHIN && waited < READ_WITHIN + Duration::from_secs(1),
            "{waited:?}"
        );
        // The next pages do not wait again until the retry is due.
        let started = Instant::now();
        assert!(names.all(&api).await.is_empty());
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn a_supplier_is_shown_by_its_name_or_else_its_id() {
        let names = HashMap::from([("harbin-heat".to_owned(), "哈尔滨热力集团".to_owned())]);
        assert_eq!(supplier(&names, "harbin-heat"), "哈尔滨热力集团");
        assert_eq!(supplier(&names, "unregistered"), "unregistered");
    }
}
