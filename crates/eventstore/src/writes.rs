//! Writes sent to PostgreSQL together: a projection's statements for a whole batch of events go
//! out in one stream, in the order they were added, and the answers are read after all were
//! sent. The server runs them one after another exactly as if each had been awaited before the
//! next, but the batch waits for one round trip instead of one per statement.
//!
//! Only for statements whose parameters do not depend on an earlier statement's answer: a
//! handler that must read in between sends what it has first ([`Writes::send`]), then reads.
//!
//! Appends are the exception to the order: every append queued before a send goes out in one
//! statement, at the place of the first. No other statement reads or writes the log, so none
//! can tell.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use deadpool_postgres::GenericClient;
use futures_util::future::{MaybeDone, maybe_done};
use tokio_postgres::types::ToSql;

use crate::append::AppendRows;

/// Why a queued append answered no row.
pub(crate) const NOT_FIRST_WRITE: &str = "an append must be the first write of its transaction";

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
    pending: Vec<Pending>,
}

struct Pending {
    body: Body,
    /// Whether answering no row is a failure (an append's own check).
    needs_row: Option<&'static str>,
}

enum Body {
    Statement(&'static str, Vec<Param>),
    /// Appends, merged into one statement when the queue is sent (boxed: a queue holds one).
    Append(Box<AppendRows>),
    /// Rows of one single-row `INSERT`, sent together as multi-row statements
    /// ([`Writes::push_row`]): `sql` for one row, `rows` of them, each row's parameters after
    /// the one before's.
    Rows {
        sql: &'static str,
        rows: usize,
        params: Vec<Param>,
    },
}

/// The most parameters one statement of merged rows takes (PostgreSQL's limit is 65,535).
const ROW_PARAMS: usize = 32_768;

impl Pending {
    /// The statements that send it: one, but rows of one `INSERT` go in runs whose lengths are
    /// powers of two (13 rows: 8, 4 and 1), so that each connection prepares a handful of
    /// texts of each, not one per number of rows.
    fn into_statements(self) -> Vec<(Cow<'static, str>, Vec<Param>, Option<&'static str>)> {
        let (sql, params) = match self.body {
            Body::Statement(sql, params) => (sql, params),
            Body::Append(rows) => rows.statement(),
            Body::Rows { sql, rows, params } => {
                let width = params.len() / rows;
                let mut params = params.into_iter();
                let mut left = rows;
                let mut statements = Vec::new();
                while left > 0 {
                    let run = 1usize << left.ilog2();
                    let taken: Vec<Param> = params.by_ref().take(run * width).collect();
                    statements.push((Cow::Owned(rows_statement(sql, run, width)), taken, None));
                    left -= run;
                }
                return statements;
            }
        };
        vec![(Cow::Borrowed(sql), params, self.needs_row)]
    }
}

/// `sql`, a single-row `INSERT … VALUES (…) …` whose row takes parameters `$1` to
/// `$width`, written for `rows` rows: the row repeated, each copy's parameters numbered after
/// the one before's. The row is the parenthesised group after the last `VALUES`; a `$` in it
/// must be a parameter.
fn rows_statement(sql: &str, rows: usize, width: usize) -> String {
    if rows == 1 {
        return sql.to_owned();
    }
    let Some(at) = sql.rfind("VALUES") else {
        return sql.to_owned();
    };
    let after = &sql[at + "VALUES".len()..];
    let Some(open) = after.find('(') else {
        return sql.to_owned();
    };
    let mut depth = 0usize;
    let mut close = None;
    for (i, c) in after[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return sql.to_owned();
    };
    let row = &after[open..=close];
    let mut out = String::with_capacity(sql.len() + rows * (row.len() + 8));
    out.push_str(&sql[..at + "VALUES".len()]);
    out.push(' ');
    for n in 0..rows {
        if n > 0 {
            out.push_str(", ");
        }
        let mut chars = row.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '$' {
                out.push(c);
                continue;
            }
            let mut number = 0usize;
            while let Some(digit) = chars.peek().and_then(|d| d.to_digit(10)) {
                number = number * 10 + digit as usize;
                chars.next();
            }
            out.push('$');
            out.push_str(&(number + n * width).to_string());
        }
    }
    out.push_str(&after[close + 1..]);
    out
}

/// Why sent statements failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// PostgreSQL refused a statement; in a transaction, everything after it was refused too.
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    /// A statement that must answer a row answered none.
    #[error("{0}")]
    NoRow(&'static str),
}

impl WriteError {
    /// PostgreSQL's error code, if it refused the statement.
    pub fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            WriteError::Db(error) => error.code(),
            WriteError::NoRow(_) => None,
        }
    }
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
        self.pending.push(Pending {
            body: Body::Statement(sql, params),
            needs_row: None,
        });
    }

    /// Adds a statement that must answer at least one row; answering none fails the send with
    /// [`WriteError::NoRow`] and `why`.
    pub fn push_needing_row(&mut self, sql: &'static str, params: Vec<Param>, why: &'static str) {
        self.pending.push(Pending {
            body: Body::Statement(sql, params),
            needs_row: Some(why),
        });
    }

    /// Adds a row of `sql`, a single-row `INSERT … VALUES (…)` (a `$` in its row is a
    /// parameter). The first row of `sql` queued since the last send takes every later one into
    /// its place: `VALUES` lists them, in the order they were added, in runs of 1, 2, 4, 8…
    /// rows (see `Pending::into_statements`). Only
    /// for a table no other statement of the queue reads or writes, so that no statement
    /// can tell the rows went earlier; a failing row fails them all, as it would fail the
    /// transaction.
    pub fn push_row(&mut self, sql: &'static str, params: Vec<Param>) {
        let width = params.len();
        let first = self.pending.iter_mut().find_map(|p| match &mut p.body {
            Body::Rows {
                sql: queued,
                rows,
                params: taken,
            } if *queued == sql && taken.len() + width <= ROW_PARAMS => Some((rows, taken)),
            _ => None,
        });
        match first {
            Some((rows, taken)) => {
                *rows += 1;
                taken.extend(params);
            }
            None => self.pending.push(Pending {
                body: Body::Rows {
                    sql,
                    rows: 1,
                    params,
                },
                needs_row: None,
            }),
        }
    }

    /// Adds an append. The first append of the queue takes every later one into its own
    /// statement (one statement writes them all, in the order they were added, where the first
    /// was added): a batch's appends cost PostgreSQL about 30 % less than one statement
    /// each. The first's check that it is the transaction's first write (or follows an
    /// append) covers them all.
    pub(crate) fn push_append(&mut self, rows: AppendRows) {
        let first = self.pending.iter_mut().find_map(|p| match &mut p.body {
            Body::Append(first) => Some(first),
            Body::Statement(..) | Body::Rows { .. } => None,
        });
        match first {
            Some(first) => first.merge(rows),
            None => self.pending.push(Pending {
                body: Body::Append(Box::new(rows)),
                needs_row: Some(NOT_FIRST_WRITE),
            }),
        }
    }

    /// Moves `other`'s statements after these.
    pub fn append(&mut self, other: &mut Writes) {
        self.pending.append(&mut other.pending);
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
    /// reading any answer, and waits for them all. Returns the rows they changed (or answered).
    /// The first failure is returned; in a transaction it has aborted everything after it.
    pub async fn send(&mut self, client: &impl GenericClient) -> Result<u64, WriteError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let pending: Vec<_> = std::mem::take(&mut self.pending)
            .into_iter()
            .flat_map(Pending::into_statements)
            .collect();
        let mut statements = Vec::with_capacity(pending.len());
        for (sql, ..) in &pending {
            statements.push(client.prepare_cached(sql.as_ref()).await?);
        }
        let mut sent: Vec<Sent<'_>> = pending
            .iter()
            .zip(&statements)
            .map(|((_, params, _), statement)| {
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
        for (statement, (_, _, needs_row)) in sent.iter_mut().zip(&pending) {
            statement.as_mut().await;
            match statement.as_mut().take_output() {
                Some(Ok(0)) if needs_row.is_some() => {
                    return Err(WriteError::NoRow(needs_row.unwrap_or_default()));
                }
                Some(Ok(rows)) => changed += rows,
                Some(Err(error)) => return Err(error.into()),
                None => {}
            }
        }
        Ok(changed)
    }
}
