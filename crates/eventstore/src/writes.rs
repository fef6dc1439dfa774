//! Writes sent to PostgreSQL together: a projection's statements for a whole batch of events go
//! out in one stream, in the order they were added, and the answers are read after all were
//! sent. The server runs them one after another exactly as if each had been awaited before the
//! next, but the batch waits for one round trip instead of one per statement.
//!
//! Only for statements whose parameters do not depend on an earlier statement's answer: a
//! handler that must read in between sends what it has first ([`Writes::send`]), then reads.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use deadpool_postgres::GenericClient;
use futures_util::future::{MaybeDone, maybe_done};
use tokio_postgres::types::ToSql;

/// One owned statement parameter.
pub type Param = Box<dyn ToSql + Sync + Send>;

/// Owned parameters for [`Writes::push`]: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$(Box::new($value) as $crate::writes::Param),*]
    };
}

/// Statements waiting to be sent, in order.
#[derive(Default)]
pub struct Writes {
    pending: Vec<(&'static str, Vec<Param>)>,
}

impl std::fmt::Debug for Writes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writes")
            .field("pending", &self.pending.len())
            .finish()
    }
}

type Sent<'c> = Pin<
    Box<MaybeDone<Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'c>>>>,
>;

impl Writes {
    /// No statements yet.
    pub fn new() -> Self {
        Writes::default()
    }

    /// Adds a statement after the ones already added.
    pub fn push(&mut self, sql: &'static str, params: Vec<Param>) {
        self.pending.push((sql, params));
    }

    /// How many statements wait.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Sends every waiting statement on `client` (prepared once per connection), all before
    /// reading any answer, and waits for them all. Returns the rows they changed. The first
    /// failure is returned; in a transaction it has aborted everything after it.
    pub async fn send(
        &mut self,
        client: &impl GenericClient,
    ) -> Result<u64, tokio_postgres::Error> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let pending = std::mem::take(&mut self.pending);
        let mut statements = Vec::with_capacity(pending.len());
        for (sql, _) in &pending {
            statements.push(client.prepare_cached(sql).await?);
        }
        let mut sent: Vec<Sent<'_>> = pending
            .iter()
            .zip(&statements)
            .map(|((_, params), statement)| {
                let params = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync));
                let execute: Pin<Box<dyn Future<Output = _> + Send + '_>> =
                    Box::pin(client.execute_raw(statement, params));
                Box::pin(maybe_done(execute))
            })
            .collect();
        // The first poll of each sends its statement: poll them once, in order, before waiting.
        std::future::poll_fn(|cx| {
            for statement in &mut sent {
                let _ = statement.as_mut().poll(cx);
            }
            Poll::Ready(())
        })
        .await;
        let mut changed = 0;
        for statement in &mut sent {
            statement.as_mut().await;
            match statement.as_mut().take_output() {
                Some(Ok(rows)) => changed += rows,
                Some(Err(error)) => return Err(error),
                None => {}
            }
        }
        Ok(changed)
    }
}
