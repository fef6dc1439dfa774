use actix_web::{HttpResponse, web};

use crate::Identity;

/// The public keys that verify access tokens.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "identity",
    responses((status = 200, description = "JSON Web Key Set of the Ed25519 keys (kty OKP)"))
)]
pub(crate) async fn jwks(identity: web::Data<Identity>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=30"))
        .json(identity.keys.jwks())
}
