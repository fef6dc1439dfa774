//! Heatline identity: resident and staff accounts, logins, sessions and access tokens.
//!
//! Accounts and sessions are event-sourced (logins, failures, lockouts, rotations and
//! revocations are events a regulator can audit). Access tokens are EdDSA JWTs signed with the
//! keys of [`keys::KeyRing`], published at `/.well-known/jwks.json`.

#![warn(missing_docs)]

pub mod domain;
pub mod keys;
pub mod notify;
pub mod openapi;
pub mod passwords;
pub mod policy;
mod routes;
pub mod sms;
pub mod tokens;
pub mod wechat;

use std::sync::Arc;

use actix_web::web;
use chrono::Utc;
use eventstore::{Actor, Channel, Commands, EventMetadata, PgEventStore, StoreError};
use platform::auth::{Role, Verifier};
use platform::clock::Clock;
use platform::error::ApiError;

use crate::domain::ResidentIds;
use crate::domain::account::{Account, AccountCommand, Scope};
use crate::domain::phone::Phone;
use crate::domain::session::Session;
use crate::keys::KeyRing;
use crate::sms::SmsGateway;
use crate::wechat::{Wechat, WechatConfig};
use eventstore::personal::{Owner, Personal, Vault, deployment_secret, rewrap_deployment_secret};

const RESIDENT_ID_TABLE: &str = "identity.resident_id_key";
const RESIDENT_ID_CONTEXT: &str = "identity.resident_id_key";

/// How identity reaches the outside parties it needs.
#[derive(Debug, Clone, Default)]
pub struct IdentityConfig {
    /// WeChat; without it, WeChat logins answer 503 `wechat_not_configured`.
    pub wechat: Option<WechatConfig>,
    /// The SMS gateway's URL; without it, SMS logins answer 503 `sms_not_configured`.
    pub sms_url: Option<String>,
    /// How residents are told what happens.
    pub notify: notify::NotifyConfig,
}

mod embedded {
    refinery::embed_migrations!("migrations");
}

const LIST_STAFF_FROM_LOG: &str = include_str!("staff.sql");

/// A staff account as lists show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StaffView {
    /// Its id.
    pub account_id: String,
    /// Its login name.
    pub username: String,
    /// Its role.
    pub role: String,
    /// District scope.
    pub district: Option<String>,
    /// Supplier scope.
    pub supplier: Option<String>,
    /// Crew scope.
    pub crew: Option<String>,
    /// When it was created.
    pub created_at: chrono::DateTime<Utc>,
}

/// The name of the table where refinery records identity's applied migrations.
pub const MIGRATION_TABLE: &str = "identity.refinery_schema_history";

/// Creates or upgrades the `identity` schema.
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    eventstore::db::run_migrations(client, "identity", embedded::migrations::runner()).await
}

/// The versions of identity's migrations, for readiness checks.
pub fn known_migrations() -> Vec<i32> {
    eventstore::db::migration_versions(&embedded::migrations::runner())
}

/// The identity service.
pub struct Identity {
    accounts: Commands<Account>,
    sessions: Commands<Session>,
    phones: Commands<Phone>,
    wechat: Option<Arc<Wechat>>,
    sms: Option<Arc<SmsGateway>>,
    notify: notify::NotifyConfig,
    store: PgEventStore,
    keys: KeyRing,
    vault: Vault,
    resident_ids: ResidentIds,
    clock: Arc<dyn Clock>,
    verifier: Verifier,
    /// Verified against when the username is unknown, so that the answer takes as long.
    decoy_hash: String,
}

/// Why a staff account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateStaffError {
    /// The input is not acceptable; the message says which field and why.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The username is taken.
    #[error("the username is taken")]
    Taken,
    /// The store failed.
    #[error("the store failed")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A request to create a staff account.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Login name: 3 to 64 of a-z, 0-9, `.`, `_`, `-` (case-insensitive).
    pub username: String,
    /// At least 10 characters.
    pub password: String,
    /// Any role but `resident`.
    pub role: Role,
    /// The scope.
    pub scope: Scope,
    /// A dispatcher for the whole city: asked for explicitly, never the default of a missing
    /// district.
    pub city_wide: bool,
}

impl Identity {
    /// Opens the service on `store` (whose database identity has migrated), creating the first
    /// signing key if there is none.
    pub async fn open(
        store: PgEventStore,
        clock: Arc<dyn Clock>,
        config: IdentityConfig,
        master: secrets::Keyring,
    ) -> Result<Arc<Identity>, StoreError> {
        let vault = Vault::new(store.pool().clone(), master.clone());
        let resident_ids = ResidentIds::new(
            deployment_secret(
                store.pool(),
                &master,
                RESIDENT_ID_TABLE,
                RESIDENT_ID_CONTEXT,
            )
            .await?,
        );
        let keys = KeyRing::open(store.pool().clone(), clock.now(), master).await?;
        // Staff created while a row could not be written are listed from the log.
        store
            .pool()
            .get()
            .await?
            .execute(LIST_STAFF_FROM_LOG, &[])
            .await?;
        let verifier = Verifier::in_process(tokens::ISSUER, tokens::AUDIENCE, clock.clone());
        verifier.set_keys(&keys.jwks());
        Ok(Arc::new(Identity {
            accounts: Commands::new(store.clone(), ()),
            sessions: Commands::new(store.clone(), ()),
            phones: Commands::new(store.clone(), ()),
            wechat: config.wechat.map(|c| Arc::new(Wechat::new(c))),
            sms: config.sms_url.map(|url| Arc::new(SmsGateway::new(url))),
            notify: config.notify,
            store,
            keys,
            vault,
            resident_ids,
            clock,
            verifier,
            decoy_hash: passwords::hash(uuid::Uuid::new_v4().to_string()).await,
        }))
    }

    /// A verifier fed with this service's keys, for the services of the same process.
    pub fn verifier(&self) -> Verifier {
        self.verifier.clone()
    }

    /// Seals a resident account's personal data (a phone number, a WeChat id) with the
    /// account's data key, which erasing the resident destroys.
    pub async fn seal_for(
        &self,
        account_id: &str,
        value: String,
    ) -> Result<Personal<String>, StoreError> {
        let owner = Owner {
            subject: format!("account:{account_id}"),
            resident: Some(account_id.to_owned()),
            household: None,
        };
        self.vault.seal(&owner, value).await
    }

    /// The data keys of residents' personal data.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The account id of the resident with this WeChat openid, or of `kind` `phone` (the
    /// account first reached by SMS) or `phone-codes` (the number's own stream).
    pub fn resident_id(&self, kind: &str, value: &str) -> String {
        self.resident_ids.id(kind, value)
    }

    /// Re-wraps the resident-id secret with the current master key; answers 1 if it was needed.
    pub async fn rewrap_resident_ids(&self) -> Result<usize, StoreError> {
        rewrap_deployment_secret(
            self.store.pool(),
            self.vault.keyring(),
            RESIDENT_ID_TABLE,
            RESIDENT_ID_CONTEXT,
        )
        .await
    }

    /// The signing keys.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// Re-reads the keys (after a rotation by another process) and passes them to the verifier.
    pub async fn reload_keys(&self) -> Result<(), StoreError> {
        self.keys.reload().await?;
        self.verifier.set_keys(&self.keys.jwks());
        Ok(())
    }

    /// Creates a staff account from the command line (the first admin). Returns its id.
    pub async fn create_staff(&self, staff: NewStaff) -> Result<String, CreateStaffError> {
        self.create_staff_with(staff, EventMetadata::new(Actor::system(), Channel::System))
            .await
    }

    /// Creates a staff account with the metadata of whoever does it. Returns its id.
    pub async fn create_staff_with(
        &self,
        staff: NewStaff,
        metadata: EventMetadata,
    ) -> Result<String, CreateStaffError> {
        let username = parse_username(&staff.username)?;
        if let Err(reason) = check_password(&staff.password) {
            return Err(CreateStaffError::Invalid {
                field: "password",
                reason,
            });
        }
        if staff.role == Role::Resident {
            return Err(CreateStaffError::Invalid {
                field: "role",
                reason: "residents log in through WeChat or SMS",
            });
        }
        if let Err((field, reason)) = check_scope(staff.role, &staff.scope, staff.city_wide) {
            return Err(CreateStaffError::Invalid { field, reason });
        }
        let account_id = domain::account_id("staff", &username);
        let credential = passwords::store(
            self.store.pool(),
            &account_id,
            passwords::hash(staff.password).await,
        )
        .await
        .map_err(|e| CreateStaffError::Store(Box::new(e)))?;
        let listed = (
            username.clone(),
            staff.role.as_str(),
            staff.scope.clone(),
            self.clock.now(),
        );
        let command = AccountCommand::CreateStaff {
            username,
            role: staff.role,
            scope: staff.scope,
            credential,
            at: self.clock.now(),
        };
        match self.accounts.execute(&account_id, command, &metadata).await {
            Ok(_) => {
                if let Err(error) = self.list_staff(&account_id, listed).await {
                    // Listed at the next start, from the log.
                    tracing::warn!(%error, account.id = %account_id, "a staff account is not listed yet");
                }
                Ok(account_id)
            }
            Err(cqrs_es::AggregateError::UserError(
                domain::account::AccountError::AlreadyExists,
            ))
            | Err(cqrs_es::AggregateError::AggregateConflict) => Err(CreateStaffError::Taken),
            Err(
                cqrs_es::AggregateError::DatabaseConnectionError(cause)
                | cqrs_es::AggregateError::DeserializationError(cause)
                | cqrs_es::AggregateError::UnexpectedError(cause),
            ) => Err(CreateStaffError::Store(cause)),
            Err(other) => Err(CreateStaffError::Store(other.to_string().into())),
        }
    }

    async fn list_staff(
        &self,
        account_id: &str,
        (username, role, scope, at): (String, &str, Scope, chrono::DateTime<Utc>),
    ) -> Result<(), StoreError> {
        self.store
            .pool()
            .get()
            .await?
            .execute(
                "INSERT INTO identity.staff \
                 (account_id, username, role, district, supplier, crew, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id) DO NOTHING",
                &[
                    &account_id,
                    &username,
                    &role,
                    &scope.district,
                    &scope.supplier,
                    &scope.crew,
                    &at,
                ],
            )
            .await?;
        Ok(())
    }

    /// Staff accounts of a supplier (and one of its crews), or every one, by username.
    pub async fn staff(
        &self,
        supplier: Option<&str>,
        crew: Option<&str>,
    ) -> Result<Vec<StaffView>, StoreError> {
        let rows = self
            .store
            .pool()
            .get()
            .await?
            .query(
                "SELECT account_id, username, role, district, supplier, crew, created_at \
                 FROM identity.staff \
                 WHERE ($1::text IS NULL OR supplier = $1) AND ($2::text IS NULL OR crew = $2) \
                 ORDER BY supplier, crew NULLS FIRST, username LIMIT 1000",
                &[&supplier, &crew],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| StaffView {
                account_id: row.get("account_id"),
                username: row.get("username"),
                role: row.get("role"),
                district: row.get("district"),
                supplier: row.get("supplier"),
                crew: row.get("crew"),
                created_at: row.get("created_at"),
            })
            .collect())
    }

    /// Mounts identity's routes.
    pub fn configure(self: &Arc<Self>) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let identity = web::Data::from(self.clone());
        move |cfg| routes::configure(cfg, identity)
    }

    fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }

    /// Starts telling residents what happens: the notifications subscription and the worker
    /// that delivers its outbox. Dropping the answer stops both.
    pub fn start_notifications(&self) -> Result<notify::Background, StoreError> {
        platform::metrics::declare(notify::NOTIFICATIONS);
        let feed = notify::feed::spawn(&self.store, self.clock.clone())?;
        let delivery = notify::delivery::spawn(notify::delivery::Delivery {
            pool: self.store.pool().clone(),
            vault: self.vault.clone(),
            wechat: self.wechat.clone(),
            sms: self.sms.clone(),
            config: self.notify.clone(),
            clock: self.clock.clone(),
        });
        Ok(notify::Background { feed, delivery })
    }

    /// The subscriptions [`Self::start_notifications`] runs, as `schema.name`.
    pub fn subscriptions(&self) -> Vec<&'static str> {
        vec!["identity.notifications"]
    }

    /// Remembers how to reach a resident (sealed); a failure is logged, not the login's.
    async fn remember_contact(
        &self,
        account: &str,
        openid: Option<&Personal<String>>,
        phone: Option<&Personal<String>>,
    ) {
        let remembered = match self.store.pool().get().await {
            Ok(client) => notify::prefs::remember(&client, account, openid, phone, self.now())
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = remembered {
            tracing::warn!(%error, "a resident's contact was not remembered for notices");
        }
    }

    /// The key that signs tokens at `now`; none is a server fault (a 500).
    fn signing_key(&self, now: chrono::DateTime<Utc>) -> Result<keys::ActiveKey, ApiError> {
        self.keys
            .signing_key(now)
            .ok_or_else(|| ApiError::internal(&std::io::Error::other("no signing key is active")))
    }
}

/// The rule for every password set: 10 characters to 1024 bytes.
pub fn check_password(password: &str) -> Result<(), &'static str> {
    if password.chars().count() < 10 {
        Err("must be at least 10 characters")
    } else if password.len() > 1024 {
        Err("must be at most 1024 bytes")
    } else {
        Ok(())
    }
}

/// Lowercases and checks a username.
pub fn parse_username(raw: &str) -> Result<String, CreateStaffError> {
    let username = raw.trim().to_lowercase();
    let valid_chars = username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if (3..=64).contains(&username.len()) && valid_chars {
        Ok(username)
    } else {
        Err(CreateStaffError::Invalid {
            field: "username",
            reason: "3 to 64 characters among a-z, 0-9, '.', '_' and '-'",
        })
    }
}

/// The scope a role needs: a supplier admin its supplier, a crew member its crew, and a
/// dispatcher a district, or the whole city when that is asked for in so many words.
fn check_scope(
    role: Role,
    scope: &Scope,
    city_wide: bool,
) -> Result<(), (&'static str, &'static str)> {
    match role {
        Role::SupplierAdmin if scope.supplier.is_none() => {
            Err(("supplier", "required for this role"))
        }
        Role::Crew if scope.crew.is_none() => Err(("crew", "required for this role")),
        Role::Dispatcher if scope.district.is_none() && !city_wide => Err((
            "district",
            "a dispatcher works in a district; give district, or city_wide: true for the whole city",
        )),
        Role::Dispatcher if scope.district.is_some() && city_wide => {
            Err(("city_wide", "a city-wide dispatcher has no district"))
        }
        _ if city_wide && role != Role::Dispatcher => {
            Err(("city_wide", "only a dispatcher is made city-wide"))
        }
        _ => Ok(()),
    }
}
