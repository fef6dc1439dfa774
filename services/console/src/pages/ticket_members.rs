//! A ticket's complaints as its page lists them: each one's address as the reader may see it,
//! and the filer's words, read from intake's API with the reader's own token.

use futures_util::StreamExt;
use serde::Deserialize;

use super::queue::urlencode;
use crate::Console;
use crate::session::Session;

#[derive(Debug, Deserialize)]
pub(crate) struct Member {
    complaint_id: String,
    household: String,
}

/// A complaint of the ticket as the API lets the reader see it: a crew on the job the exact
/// address, other staff the building's with the rest masked.
#[derive(Debug, Deserialize)]
struct Filed {
    complaint: FiledFields,
}

#[derive(Debug, Deserialize)]
struct FiledFields {
    address: Option<String>,
    description: Option<String>,
    personal_data_erased_at: Option<String>,
}

/// How many of a ticket's complaints are read for their address and words; an incident may
/// merge hundreds, and the rest are listed by id and household.
const MEMBERS_READ: usize = 30;

/// A complaint as the page lists it.
pub(crate) struct MemberRow {
    pub id: String,
    pub short: String,
    pub household: String,
    pub address: String,
    pub words: String,
}

/// The ticket's complaints with what the reader may see of each: where, and in the filer's
/// words. A complaint the API does not answer for is listed by id alone.
pub(crate) async fn members(
    console: &Console,
    session: &Session,
    list: &[Member],
) -> Vec<MemberRow> {
    let t = session.tr();
    let filed: Vec<Option<Filed>> = futures_util::stream::iter(list.iter().take(MEMBERS_READ))
        .map(|m| async move {
            let path = format!("/api/v1/complaints/{}", urlencode(&m.complaint_id));
            console.api.get(&path, Some(&session.token)).await.ok()
        })
        .buffered(6)
        .collect()
        .await;
    let dash = || "—".to_owned();
    list.iter()
        .enumerate()
        .map(|(i, m)| {
            let filed = filed.get(i).and_then(Option::as_ref).map(|f| &f.complaint);
            let erased = filed.is_some_and(|f| f.personal_data_erased_at.is_some());
            MemberRow {
                id: m.complaint_id.clone(),
                short: super::queue::short_id(&m.complaint_id),
                household: m.household.clone(),
                address: if erased {
                    t.s("ticket.erased").to_owned()
                } else {
                    filed.and_then(|f| f.address.clone()).unwrap_or_else(dash)
                },
                words: filed
                    .and_then(|f| f.description.clone())
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(dash),
            }
        })
        .collect()
}
