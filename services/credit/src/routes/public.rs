//! Publishing closed grades, and the public board: what anyone may read without logging in.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use eventstore::Channel;
use platform::auth::Principal;
use platform::error::ApiError;
use platform::fields::FieldErrors;
use platform::request::{actor, metadata};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{client, command_failure, db, season};
use crate::Credit;
use crate::domain::credit::{CreditCommand, CreditError};
use crate::domain::values::points_number;
use crate::ledger::CommandError;
use crate::targets::board::{self, Figures, Filter};

/// A period to publish.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct NewPublication {
    /// A closed month (`2026-11`) or the season for its final grade (`2026-2027`).
    #[schema(max_length = 9)]
    period: Option<String>,
}

/// What a publication did, supplier by supplier.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicationView {
    /// The period.
    period: String,
    /// Suppliers whose grade is now public.
    published: Vec<String>,
    /// Suppliers whose grade was public before.
    already: Vec<String>,
    /// Suppliers whose period is not closed (nothing of theirs was published).
    not_closed: Vec<String>,
}

/// Publishes a closed period's grades of every supplier with a ledger in the season: a
/// recorded decision each. A period not closed for any supplier is refused; publishing again
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/credit/seasons/{season}/publications", tag = "credit",
    params(("season" = String, Path)), request_body = NewPublication,
    responses((status = 200, body = PublicationView),
        (status = 409, description = "The period is not closed"),
        (status = 422, description = "No period")),
    security(("bearer" = [])))]
pub(crate) async fn publish(
    credit: web::Data<Credit>,
    request: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<NewPublication>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let period = body.period.as_deref().map(str::trim).unwrap_or_default();
    let mut errors = FieldErrors::default();
    if period.is_empty() || period.chars().count() > 9 {
        errors.add(
            "period",
            "required",
            "a month such as 2026-11, or the season for its final grade",
        );
    }
    errors.into_result()?;
    let suppliers: Vec<String> = client(&credit)
        .await?
        .query(
            "SELECT supplier_id FROM credit.standing WHERE season = $1 ORDER BY supplier_id",
            &[&season.to_string()],
        )
        .await
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let metadata = metadata(&request, actor(&principal), Channel::Console);
    let mut view = PublicationView {
        period: period.to_owned(),
        published: Vec::new(),
        already: Vec::new(),
        not_closed: Vec::new(),
    };
    for supplier in suppliers {
        let command = CreditCommand::Publish {
            period: period.to_owned(),
            at: credit.clock.now(),
        };
        match credit
            .ledger
            .execute(&supplier, season, command, &metadata)
            .await
        {
            Ok(_) => view.published.push(supplier),
            Err(CommandError::Refused(CreditError::AlreadyPublished(_))) => {
                view.already.push(supplier)
            }
            Err(CommandError::Refused(CreditError::NotClosed(_))) => view.not_closed.push(supplier),
            Err(error) => return Err(command_failure(error)),
        }
    }
    if view.published.is_empty() && view.already.is_empty() {
        return Err(ApiError::conflict(
            "not_closed",
            format!("period {period} is closed for no supplier; only closed periods are published"),
        ));
    }
    Ok(HttpResponse::Ok().json(view))
}

/// A published grade.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublishedGrade {
    /// `2026-11`, or the season for the final grade.
    period: String,
    /// `A` to `D`.
    grade: String,
    /// The score at the period's end.
    score: f64,
    /// The season's final grade.
    is_final: bool,
    /// When the regulator published it.
    published_at: DateTime<Utc>,
}

/// A supplier on the public board.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicSupplier {
    /// Its id.
    supplier_id: String,
    /// Its registered name.
    name: String,
    /// Its published grades, oldest first (none until the regulator publishes one).
    grades: Vec<PublishedGrade>,
}

/// A registered supplier's public name.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SupplierName {
    /// Its id, as tickets and complaints name it.
    supplier_id: String,
    /// Its name.
    name: String,
}

/// Every registered supplier's name by its id, as the public board names them (the
/// registry's contacts and areas stay with the regulator). Cacheable for a minute.
#[utoipa::path(get, path = "/api/v1/credit/public/suppliers", tag = "credit",
    responses((status = 200, body = Vec<SupplierName>)))]
pub(crate) async fn supplier_names(credit: web::Data<Credit>) -> Result<HttpResponse, ApiError> {
    let client = client(&credit).await?;
    let rows = client
        .query(
            "SELECT supplier_id, name FROM credit.supplier ORDER BY supplier_id",
            &[],
        )
        .await
        .map_err(db)?;
    let names: Vec<SupplierName> = rows
        .iter()
        .map(|r| SupplierName {
            supplier_id: r.get(0),
            name: r.get(1),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(names))
}

/// Complaints of a district.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DistrictCount {
    /// The district.
    district: String,
    /// Complaints filed this season.
    complaints: i64,
}

/// The public board of a season.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PublicBoard {
    /// The season.
    season: String,
    /// When its figures were counted.
    as_of: DateTime<Utc>,
    /// Every registered supplier with its published grades.
    suppliers: Vec<PublicSupplier>,
    /// The city's figures over the season (counts and shares only).
    city: Figures,
    /// Complaints by district.
    districts: Vec<DistrictCount>,
}

/// The public board: each supplier's published grades (never a provisional one), the city's
/// targets figures and complaints by district. No personal data; cacheable for a minute.
#[utoipa::path(get, path = "/api/v1/credit/public/seasons/{season}", tag = "credit",
    params(("season" = String, Path)),
    responses((status = 200, body = PublicBoard), (status = 404, description = "Bad season")))]
pub(crate) async fn board(
    credit: web::Data<Credit>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let season = season(&path)?;
    let client = client(&credit).await?;
    let rows = client
        .query(
            "SELECT s.supplier_id, s.name, p.period, p.grade, p.score, p.published_at \
             FROM credit.supplier s LEFT JOIN credit.publication p \
               ON p.supplier_id = s.supplier_id AND p.season = $1 \
             ORDER BY s.supplier_id, p.published_at, p.period",
            &[&season.to_string()],
        )
        .await
        .map_err(db)?;
    let mut suppliers: Vec<PublicSupplier> = Vec::new();
    for row in &rows {
        let id: String = row.get(0);
        if suppliers.last().is_none_or(|s| s.supplier_id != id) {
            suppliers.push(PublicSupplier {
                supplier_id: id,
                name: row.get(1),
                grades: Vec::new(),
            });
        }
        let Some(period) = row.get::<_, Option<String>>(2) else {
            continue;
        };
        if let Some(supplier) = suppliers.last_mut() {
            supplier.grades.push(PublishedGrade {
                is_final: period == season.to_string(),
                period,
                grade: row.get(3),
                score: points_number(row.get(4)),
                published_at: row.get(5),
            });
        }
    }
    let now = credit.clock.now();
    let figures = board::board(&client, season, now, &Filter::default())
        .await
        .map_err(db)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(PublicBoard {
            season: season.to_string(),
            as_of: figures.to,
            suppliers,
            city: figures.city.season,
            districts: figures
                .districts
                .into_iter()
                .map(|d| DistrictCount {
                    district: d.key.unwrap_or_default(),
                    complaints: d.season.complaints,
                })
                .collect(),
        }))
}
