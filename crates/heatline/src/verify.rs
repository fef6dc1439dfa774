//! `heatline verify`: re-reads the event logs against every seal and names the first event
//! that differs; `--seal FILE` checks a downloaded seal against the log, or a downloaded proof
//! offline, with the seal key's public half.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use eventstore::PgEventStore;
use eventstore::seal::{Proof, SealDocument};

use crate::database::Database;

/// What `heatline verify` takes.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// A seal or a proof downloaded from `/api/v1/audit/...`. A proof is checked offline (no
    /// database); a seal is checked against the log as it is now, then every seal is.
    #[arg(long)]
    pub seal: Option<PathBuf>,
    /// The seal key's public half (base64) from `/api/v1/audit/seal-keys`, pinned when the
    /// seal was kept. Without it, the key the file itself carries (which an altered file could
    /// replace).
    #[arg(long)]
    pub public_key: Option<String>,
}

/// What the file named by `--seal` holds.
enum Kept {
    Proof(Box<Proof>),
    Seal(SealDocument),
}

fn read(path: &Path) -> anyhow::Result<Kept> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", path.display()))?;
    let what = |e: serde_json::Error| {
        anyhow::anyhow!(
            "{} is neither a seal nor a proof from /api/v1/audit: {e}",
            path.display()
        )
    };
    if value.get("event").is_some() {
        Ok(Kept::Proof(Box::new(
            serde_json::from_value(value).map_err(what)?,
        )))
    } else {
        Ok(Kept::Seal(serde_json::from_value(value).map_err(what)?))
    }
}

fn key(args: &VerifyArgs, seal: &SealDocument) -> anyhow::Result<[u8; 32]> {
    match &args.public_key {
        Some(text) => STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow::anyhow!("--public-key is not 32 bytes in base64")),
        None => {
            eprintln!(
                "note: checked against the key the file carries ({}); pass --public-key with the key you pinned",
                seal.key_id
            );
            seal.carried_key().map_err(Into::into)
        }
    }
}

/// A proof, checked with no database; `None` when the command needs the database.
pub fn offline(args: &VerifyArgs) -> Option<anyhow::Result<()>> {
    let path = args.seal.as_ref()?;
    let kept = match read(path) {
        Ok(kept) => kept,
        Err(error) => return Some(Err(error)),
    };
    let Kept::Proof(proof) = kept else {
        return None;
    };
    Some((|| {
        let body = proof.check(&key(args, &proof.seal)?)?;
        let event = &proof.event;
        println!(
            "proof holds: {} event {} ({}, stream {} {} #{}, recorded {}) is leaf {} of {} in seal {} made {}, signed by key {}",
            event.log,
            event.event_id,
            event.event_type,
            event.aggregate_type,
            event.aggregate_id,
            event.sequence,
            event.recorded_at.to_rfc3339(),
            proof.index,
            proof.size,
            body.seq,
            body.sealed_at.to_rfc3339(),
            body.key_id
        );
        Ok(())
    })())
}

/// Checks a kept seal (if given) and then every stored seal against the log.
pub async fn run(database: &Database, args: VerifyArgs) -> anyhow::Result<()> {
    database.migrate().await?;
    let store = PgEventStore::new(&database.config);
    if let Some(path) = &args.seal {
        let Kept::Seal(seal) = read(path)? else {
            unreachable!("proofs are checked offline, before the database opens")
        };
        let body = seal.check(&key(&args, &seal)?)?;
        match eventstore::seal::verify::check_against(&store, &body).await? {
            None => println!(
                "seal {} holds: its signature, and the {} events it covers are in the log as sealed",
                body.seq,
                body.size()
            ),
            Some(problem) => anyhow::bail!("the log does not match the seal you kept: {problem}"),
        }
    }
    let total: i64 = store
        .pool()
        .get()
        .await?
        .query_one(
            "SELECT coalesce(sum(events_count + published_count), 0)::bigint FROM eventstore.seal",
            &[],
        )
        .await?
        .get(0);
    let bar = crate::progress::bar(total.max(0) as u64, "events checked against their seals");
    let started = std::time::Instant::now();
    let report = eventstore::seal::verify::verify(&store, |done| bar.set_position(done)).await?;
    bar.finish_and_clear();
    if let Some(problem) = report.problem {
        anyhow::bail!("{problem} (the {} seals before it hold)", report.seals);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let status = eventstore::seal::sealer::status(store.pool()).await?;
    let unsealed = status.unsealed_events + status.unsealed_published;
    if report.seals == 0 {
        println!(
            "no seal yet: {unsealed} events wait for the sealer (it runs in the process that serves credit)"
        );
        return Ok(());
    }
    println!(
        "{} seals hold: {} events checked in {:.1} s ({:.0} events/s); {unsealed} newer events are not sealed yet",
        report.seals,
        report.events,
        elapsed,
        report.events as f64 / elapsed.max(1e-9)
    );
    Ok(())
}
