//! The staff console: pages for dispatchers, hotline operators, supplier admins and crews, in
//! Simplified Chinese first. Server-rendered (askama templates), forms that work without
//! JavaScript, a small script for the live queue and the crew's position.
//!
//! The console is a client of the public API, like the mobile apps: every read and every
//! change is an HTTP call to `/api/v1/...` with the signed-in user's token, so the API's
//! policy decides what a page shows and what a form may do, and the console runs the same in
//! one process (`heatline serve`) and behind the gateway (`heatline serve --only console`).

pub mod api;
pub mod chart;
pub mod format;
pub mod i18n;
mod names;
mod pages;
pub mod policy;
pub mod schematic;
pub mod session;

use actix_web::web;

pub use api::ApiBase;

/// The console's state, shared by its workers.
#[derive(Debug, Clone)]
pub struct Console {
    pub(crate) api: api::Client,
    pub(crate) refreshes: std::sync::Arc<session::Refreshes>,
    pub(crate) suppliers: std::sync::Arc<names::SupplierNames>,
}

impl Console {
    /// A console that calls the API at `base`.
    pub fn new(base: ApiBase) -> Self {
        Console {
            api: api::Client::new(base),
            refreshes: Default::default(),
            suppliers: Default::default(),
        }
    }

    /// Mounts the console's pages under `/console`.
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + 'static {
        let console = web::Data::new(self.clone());
        move |cfg| pages::configure(cfg, console)
    }

    /// Supplier `id`'s name as the registry last gave it, or the id itself.
    pub(crate) async fn supplier_name(&self, id: &str) -> String {
        names::supplier(&*self.suppliers.all(&self.api).await, id)
    }
}
