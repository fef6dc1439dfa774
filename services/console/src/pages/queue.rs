//! The dispatcher's queue (also a supplier's own tickets, a regulator's and an operator's
//! view), its live update, the unrouted complaints with their routing form, and a crew's jobs.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Chrome, Form, field, form_session, html, read as read_api, refused, see_other};
use crate::Console;
use crate::format;
use crate::i18n::Tr;
use crate::names;
use crate::session::Session;

/// A ticket of the API's queue.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct QueueItem {
    ticket_id: String,
    category: String,
    status: String,
    priority: String,
    origin: String,
    district: Option<String>,
    station: Option<String>,
    building_id: Option<String>,
    supplier_id: Option<String>,
    households: i64,
    next_clock: Option<String>,
    next_deadline: Option<String>,
    seconds_left: Option<i64>,
    #[serde(default)]
    channel: Option<String>,
    band: String,
}

#[derive(Debug, Deserialize)]
struct QueuePage {
    items: Vec<QueueItem>,
    next_cursor: Option<String>,
}

/// The API's counts per band.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct Bands {
    breached: i64,
    at_risk: i64,
    paused: i64,
    on_time: i64,
    total: i64,
}

/// A queue row as shown.
pub(crate) struct Row {
    id: String,
    short: String,
    band: String,
    band_label: String,
    category: String,
    status: String,
    urgent: bool,
    priority: String,
    incident: bool,
    place: String,
    supplier: String,
    households: i64,
    channel: String,
    next: String,
    left: String,
    late: bool,
}

impl Row {
    fn of(t: Tr, suppliers: &HashMap<String, String>, item: &QueueItem) -> Row {
        let lang = t.0;
        let place = [&item.district, &item.station, &item.building_id]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" / ");
        let next = match (&item.next_clock, &item.next_deadline) {
            (Some(clock), Some(at)) => {
                format!(
                    "{} {}",
                    t.code("clock", clock),
                    format::moment_text(lang, at)
                )
            }
            _ => "—".to_owned(),
        };
        let (left, late) = match item.seconds_left {
            Some(s) if s < 0 => (
                format!("{} {}", t.s("ticket.late"), format::duration(lang, s)),
                true,
            ),
            Some(s) => (format::duration(lang, s), false),
            None => ("—".to_owned(), false),
        };
        Row {
            id: item.ticket_id.clone(),
            short: short_id(&item.ticket_id),
            band: item.band.clone(),
            band_label: t.code("band", &item.band),
            category: t.code("category", &item.category),
            status: t.code("status", &item.status),
            urgent: item.priority == "urgent",
            priority: t.code("priority", &item.priority),
            incident: item.origin == "incident",
            place: if place.is_empty() {
                "—".into()
            } else {
                place
            },
            supplier: item
                .supplier_id
                .as_deref()
                .map_or_else(|| "—".to_owned(), |id| names::supplier(suppliers, id)),
            households: item.households,
            channel: item
                .channel
                .as_deref()
                .map_or_else(|| "—".to_owned(), |c| t.code("channel", c)),
            next,
            left,
            late,
        }
    }
}

/// The queue's filters, as the page's query and the API's.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    supplier_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    band: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

impl Filters {
    /// Without empty fields (a form sends them empty).
    fn cleaned(mut self) -> Filters {
        for value in [
            &mut self.district,
            &mut self.supplier_id,
            &mut self.status,
            &mut self.priority,
            &mut self.channel,
            &mut self.band,
            &mut self.cursor,
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *value = None;
            }
        }
        self
    }

    fn query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    /// The same filters in another band (and from the first page).
    fn with_band(&self, band: Option<&str>) -> String {
        let mut other = self.clone();
        other.band = band.map(str::to_owned);
        other.cursor = None;
        other.query()
    }
}

/// A band's card above the queue.
pub(crate) struct BandCard {
    code: &'static str,
    label: String,
    count: String,
    href: String,
    current: bool,
}

/// A choice of a filter's select.
pub(crate) struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices(t: Tr, kind: &str, codes: &[&'static str], current: Option<&str>) -> Vec<Choice> {
    codes
        .iter()
        .map(|code| Choice {
            value: (*code).to_owned(),
            label: t.code(kind, code),
            selected: current == Some(*code),
        })
        .collect()
}

/// The supplier filter's choices: every registered supplier by name, in the order of their
/// names, and a supplier asked for that the registry does not know, by its id.
fn supplier_choices(names: &HashMap<String, String>, current: Option<&str>) -> Vec<Choice> {
    let mut list: Vec<Choice> = names
        .iter()
        .map(|(id, name)| Choice {
            value: id.clone(),
            label: name.clone(),
            selected: current == Some(id.as_str()),
        })
        .collect();
    if let Some(id) = current.filter(|id| !names.contains_key(*id)) {
        list.push(Choice {
            value: id.to_owned(),
            label: id.to_owned(),
            selected: true,
        });
    }
    list.sort_by(|a, b| a.label.cmp(&b.label));
    list
}

const STATUSES: [&str; 7] = [
    "opened",
    "dispatched",
    "returned",
    "signed",
    "crew_assigned",
    "on_site",
    "resolved",
];
const BANDS: [&str; 4] = ["breached", "at_risk", "paused", "on_time"];
const CHANNELS: [&str; 6] = ["app", "wechat", "hotline", "12345", "open311", "sensor"];

#[derive(Template)]
#[template(path = "queue.html")]
struct QueueView {
    chrome: Chrome,
    filters: Filters,
    bands: Vec<BandCard>,
    total: String,
    rows: Vec<Row>,
    next_page: Option<String>,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    channels: Vec<Choice>,
    band_choices: Vec<Choice>,
    /// The registered suppliers by name, for the supplier filter.
    suppliers: Vec<Choice>,
    live: String,
    updated: String,
    /// A supplier admin's page is its own tickets: no supplier filter.
    own_supplier: bool,
}

#[derive(Template)]
#[template(path = "queue_rows.html")]
struct RowsView {
    rows: Vec<Row>,
}

/// Reads a page of the queue and its band counts from the API, at once.
async fn read(
    console: &Console,
    session: &Session,
    filters: &Filters,
) -> Result<(QueuePage, Bands), crate::api::Failure> {
    let query = filters.query();
    let page_path = format!("/api/v1/tickets?limit=50&{query}");
    let mut counting = filters.clone();
    counting.band = None;
    counting.cursor = None;
    let bands_path = format!("/api/v1/tickets/bands?{}", counting.query());
    let (page, bands) = futures_util::join!(
        console
            .api
            .get::<QueuePage>(&page_path, Some(&session.token)),
        console.api.get::<Bands>(&bands_path, Some(&session.token)),
    );
    Ok((page?, bands?))
}

fn band_cards(t: Tr, filters: &Filters, bands: &Bands) -> Vec<BandCard> {
    BANDS
        .iter()
        .map(|code| {
            let n = match *code {
                "breached" => bands.breached,
                "at_risk" => bands.at_risk,
                "paused" => bands.paused,
                _ => bands.on_time,
            };
            let current = filters.band.as_deref() == Some(*code);
            BandCard {
                code,
                label: t.code("band", code),
                count: format::count(n),
                href: format!(
                    "/console/queue?{}",
                    filters.with_band((!current).then_some(*code))
                ),
                current,
            }
        })
        .collect()
}

/// The queue page.
pub(crate) async fn page(
    session: Session,
    console: web::Data<Console>,
    filters: web::Query<Filters>,
) -> HttpResponse {
    let filters = filters.into_inner().cleaned();
    let (page, bands) = match read(&console, &session, &filters).await {
        Ok(read) => read,
        Err(failure) => return refused(&session, &failure, "/console"),
    };
    let t = session.tr();
    let title = if session.is("supplier_admin") {
        "nav.tickets"
    } else {
        "queue.title"
    };
    let next_page = page.next_cursor.map(|cursor| {
        let mut next = filters.clone();
        next.cursor = Some(cursor);
        format!("/console/queue?{}", next.query())
    });
    let mut live_filters = filters.clone();
    live_filters.cursor = None;
    let names = console.suppliers.all(&console.api).await;
    let view = QueueView {
        chrome: Chrome::of(&session, title, "/console/queue"),
        bands: band_cards(t, &filters, &bands),
        total: format::count(bands.total),
        rows: page.items.iter().map(|i| Row::of(t, &names, i)).collect(),
        suppliers: supplier_choices(&names, filters.supplier_id.as_deref()),
        next_page,
        statuses: choices(t, "status", &STATUSES, filters.status.as_deref()),
        priorities: choices(
            t,
            "priority",
            &["normal", "urgent"],
            filters.priority.as_deref(),
        ),
        channels: choices(t, "channel", &CHANNELS, filters.channel.as_deref()),
        band_choices: choices(t, "band", &BANDS, filters.band.as_deref()),
        live: if filters.cursor.is_none() {
            format!("/console/queue/live?{}", live_filters.query())
        } else {
            String::new()
        },
        updated: format::moment(t.0, chrono::Utc::now()),
        own_supplier: session.is("supplier_admin"),
        filters,
    };
    session.finish(html(StatusCode::OK, &view))
}

/// The queue's first page again, for the page's script: the rows as HTML, the counts per band,
/// the time. Polled every few seconds.
pub(crate) async fn live(
    request: HttpRequest,
    console: web::Data<Console>,
    filters: web::Query<Filters>,
) -> HttpResponse {
    let session = match Session::load(&request, &console).await {
        Ok(session) => session,
        // The script reloads the page, which goes to the login page.
        Err(_) => return HttpResponse::Unauthorized().json(json!({"code": "unauthorized"})),
    };
    let mut filters = filters.into_inner().cleaned();
    filters.cursor = None;
    let (page, bands) = match read(&console, &session, &filters).await {
        Ok(read) => read,
        Err(failure) => {
            return HttpResponse::build(failure.status_code()).json(json!({"code": failure.code}));
        }
    };
    let t = session.tr();
    let names = console.suppliers.all(&console.api).await;
    let rows = RowsView {
        rows: page.items.iter().map(|i| Row::of(t, &names, i)).collect(),
    };
    let rows = match rows.render() {
        Ok(rows) => rows,
        Err(error) => {
            tracing::error!(%error, "queue rows did not render");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let counts: serde_json::Map<String, serde_json::Value> = BANDS
        .iter()
        .zip([bands.breached, bands.at_risk, bands.paused, bands.on_time])
        .map(|(code, n)| ((*code).to_owned(), json!(format::count(n))))
        .collect();
    session.finish(
        HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({
                "rows": rows,
                "bands": counts,
                "total": format::count(bands.total),
                "updated": format::moment(t.0, chrono::Utc::now()),
            })),
    )
}

/// A crew's jobs: its open tickets, phone-sized.
pub(crate) async fn jobs(session: Session, console: web::Data<Console>) -> HttpResponse {
    let Some(crew) = session.claims.crew.clone() else {
        let failure = crate::api::Failure::local(403, "no_crew", "this account is not a crew's");
        return refused(&session, &failure, "/console");
    };
    let jobs = format!("/api/v1/crews/{crew}/jobs?limit=100");
    let page: QueuePage = match read_api(&console, &session, &jobs, "/console").await {
        Ok(page) => page,
        Err(refusal) => return refusal,
    };
    let t = session.tr();
    let names = console.suppliers.all(&console.api).await;
    let view = JobsView {
        chrome: Chrome::of(&session, "jobs.title", "/console/jobs"),
        rows: page.items.iter().map(|i| Row::of(t, &names, i)).collect(),
    };
    session.finish(html(StatusCode::OK, &view))
}

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsView {
    chrome: Chrome,
    rows: Vec<Row>,
}

/// An unrouted complaint as the API shows it.
#[derive(Debug, Deserialize)]
struct Unrouted {
    complaint_id: String,
    category: String,
    address: Option<String>,
    filed_at: String,
}

pub(crate) struct UnroutedRow {
    id: String,
    category: String,
    address: String,
    filed: String,
}

#[derive(Template)]
#[template(path = "unrouted.html")]
struct UnroutedView {
    chrome: Chrome,
    rows: Vec<UnroutedRow>,
    error: Option<String>,
}

/// Complaints whose address matched no building, oldest first, each with a routing form.
pub(crate) async fn unrouted(session: Session, console: web::Data<Console>) -> HttpResponse {
    unrouted_page(&console, &session, None, StatusCode::OK).await
}

async fn unrouted_page(
    console: &Console,
    session: &Session,
    error: Option<String>,
    status: StatusCode,
) -> HttpResponse {
    let list: Vec<Unrouted> =
        match read_api(console, session, "/api/v1/complaints/unrouted", "/console").await {
            Ok(list) => list,
            Err(refusal) => return refusal,
        };
    let t = session.tr();
    let view = UnroutedView {
        chrome: Chrome::of(session, "unrouted.title", "/console/unrouted"),
        rows: list
            .into_iter()
            .map(|c| UnroutedRow {
                category: t.code("category", &c.category),
                address: c.address.unwrap_or_else(|| "—".into()),
                filed: format::moment_text(t.0, &c.filed_at),
                id: c.complaint_id,
            })
            .collect(),
        error,
    };
    session.finish(html(status, &view))
}

/// Routes an unrouted complaint to a building of the registry.
pub(crate) async fn route(
    request: HttpRequest,
    console: web::Data<Console>,
    id: web::Path<String>,
    form: Form,
) -> HttpResponse {
    let session = match form_session(&request, &console, &form).await {
        Ok(session) => session,
        Err(refusal) => return refusal,
    };
    let body = json!({ "building_id": field(&form, "building_id").unwrap_or_default() });
    let path = format!("/api/v1/complaints/{}/route", urlencode(&id));
    match console
        .api
        .post::<serde_json::Value>(&path, Some(&session.token), &body, None)
        .await
    {
        Ok(_) => session.finish(see_other("/console/unrouted")),
        Err(failure) => {
            let status = failure.status_code();
            unrouted_page(&console, &session, Some(failure.explained()), status).await
        }
    }
}

/// A path segment, percent-encoded.
pub(crate) fn urlencode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// The end of an id, enough to tell tickets apart on a screen (ids are UUIDv7: their start is
/// the time, the same for tickets of the same minute).
pub(crate) fn short_id(id: &str) -> String {
    let tail: Vec<char> = id.chars().rev().take(8).collect();
    tail.into_iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supplier_filter_offers_names_and_keeps_an_id_it_does_not_know() {
        let names = HashMap::from([
            ("songbei-thermal".to_owned(), "松北热电公司".to_owned()),
            ("harbin-heat".to_owned(), "哈尔滨热力集团".to_owned()),
        ]);
        let shown = |list: Vec<Choice>| -> Vec<(String, String, bool)> {
            list.into_iter()
                .map(|c| (c.value, c.label, c.selected))
                .collect()
        };
        assert_eq!(
            shown(supplier_choices(&names, Some("harbin-heat"))),
            [
                ("harbin-heat".into(), "哈尔滨热力集团".into(), true),
                ("songbei-thermal".into(), "松北热电公司".into(), false),
            ]
        );
        // A link that names a supplier since removed from the registry still filters by it.
        let with_gone = shown(supplier_choices(&names, Some("gone-heat")));
        assert_eq!(with_gone.len(), 3);
        assert!(with_gone.contains(&("gone-heat".into(), "gone-heat".into(), true)));
        assert!(with_gone.iter().filter(|c| c.2).count() == 1);
    }
}
