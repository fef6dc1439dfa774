//! Photo upload and download.

use actix_web::{HttpResponse, web};
use eventstore::personal::Owner;
use platform::auth::Principal;
use platform::error::ApiError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Intake;
use crate::photos::{MAX_PHOTO_BYTES, PhotoError};
use crate::views;

/// The upload body limit: a larger photo is refused from its `Content-Length` (413) before a
/// byte of it is read.
pub(crate) fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_PHOTO_BYTES)
}

/// A stored photo.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PhotoStored {
    /// Put this in a complaint's `photos`.
    photo_id: String,
    /// `image/jpeg` or `image/png`, as read from the bytes.
    content_type: &'static str,
    /// Its size.
    bytes: usize,
}

/// Uploads a photo (the raw JPEG or PNG bytes as the body, at most 5 MB). Uploading the same
/// photo again returns the same id.
#[utoipa::path(
    post, path = "/api/v1/photos", tag = "photos",
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses(
        (status = 201, body = PhotoStored),
        (status = 413, description = "Over 5 MB (`payload_too_large`)"),
        (status = 415, description = "Not a JPEG or PNG by its content (`not_an_image`)"),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn upload(
    intake: web::Data<Intake>,
    principal: Principal,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let size = body.len();
    // Sealed with the resident's own key: erasing the resident leaves it unreadable.
    let owner = Owner {
        subject: format!("account:{}", principal.subject),
        resident: Some(principal.subject.clone()),
        household: None,
    };
    let (key_id, key) = intake
        .vault
        .key_of(&owner)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    match intake
        .photos
        .put(body, &principal.subject, key_id, &key)
        .await
    {
        Ok((photo_id, kind)) => Ok(HttpResponse::Created().json(PhotoStored {
            photo_id,
            content_type: kind.content_type(),
            bytes: size,
        })),
        Err(PhotoError::NotAnImage) => Err(ApiError::unsupported_media_type(
            "the photo must be a JPEG or PNG image",
        )
        .with_code("not_an_image")),
        Err(other) => Err(ApiError::internal(&other)),
    }
}

/// Downloads a photo.
#[utoipa::path(
    get, path = "/api/v1/photos/{id}", tag = "photos",
    params(("id" = String, Path, description = "A photo id")),
    responses((status = 200, description = "The image"), (status = 404, description = "No such photo")),
    security(("bearer" = []))
)]
pub(crate) async fn download(
    intake: web::Data<Intake>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Readable by whoever may read a complaint that carries it; to anyone else it does not
    // exist (a photo not yet attached to any filing included).
    let carriers = {
        let client = intake
            .store
            .pool()
            .get()
            .await
            .map_err(|e| ApiError::internal(&e))?;
        views::carrying_photo(&client, &id)
            .await
            .map_err(|e| ApiError::internal(&e))?
    };
    let mut allowed = false;
    for complaint in carriers {
        if super::complaints::readable(&intake, &principal, complaint)
            .await
            .is_ok()
        {
            allowed = true;
            break;
        }
    }
    if !allowed {
        return Err(ApiError::not_found("no such photo"));
    }
    match intake.photos.get(&id, &intake.vault).await {
        Ok(Some((bytes, kind))) => Ok(HttpResponse::Ok()
            .content_type(kind.content_type())
            .insert_header(("Cache-Control", "private, max-age=86400, immutable"))
            .body(bytes)),
        Ok(None) => Err(ApiError::not_found("no such photo")),
        Err(e) => Err(ApiError::internal(&e)),
    }
}
