//! Independent holders' ballot keys for a new review period (DESIGN.md "Sealed ballots",
//! *Independent holders*): for each holder in `governance.ballot_holders`, in order, the first
//! key of its newest pool event on the service's relays (signed by the holder) that no earlier
//! proposal pinned (`ballot_key_pins`). A holder with no pool there, or no unused key in it,
//! refuses the review period with a 503 naming it (npub), before anything is written.
//!
//! The keys are recorded by [`record_pins`] in the proposal claim's transaction; the unique
//! `ballot_key` makes two servers that picked the same key at once fail the second claim.

use std::collections::HashSet;
use std::time::Duration;

use nostr_sdk::{Event, FromBech32, PublicKey, ToBech32};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QuerySelect,
};

use super::bots::database_unavailable;
use super::error::ApiError;
use crate::http::handles::ServiceHandles;
use crate::nostr::ballot_key_pool::fetch_newest_pools;
use crate::nostr::ballot_keys::{BallotHolder, BallotKey};
use crate::store::entities::ballot_key_pin;

/// How long the pools are waited for on the relays.
const POOL_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The keys taken for a new proposal: one per independent holder, in settings order, with the
/// signed pool event each came from (embedded in the proposal's content).
#[derive(Debug, Default)]
pub struct TakenKeys {
    pub holders: Vec<BallotHolder>,
    pub pools: Vec<Event>,
}

/// The holders of `governance.ballot_holders` (validated npubs at start-up).
pub fn configured_holders(handles: &ServiceHandles) -> Vec<PublicKey> {
    handles
        .settings
        .governance
        .ballot_holders
        .iter()
        .filter_map(|npub| PublicKey::from_bech32(npub).ok())
        .collect()
}

/// Takes each configured holder's first unused key, or refuses with a 503 naming the holder.
pub async fn take_keys(handles: &ServiceHandles) -> Result<TakenKeys, ApiError> {
    let holders = configured_holders(handles);
    if holders.is_empty() {
        return Ok(TakenKeys::default());
    }
    let pools = fetch_newest_pools(&handles.relay_urls, &holders, POOL_READ_TIMEOUT)
        .await
        .map_err(|e| ApiError::unavailable(format!("ballot key holders: {e}")))?;
    let pinned: HashSet<String> = ballot_key_pin::Entity::find()
        .select_only()
        .column(ballot_key_pin::Column::BallotKey)
        .filter(ballot_key_pin::Column::Holder.is_in(holders.iter().map(|h| h.to_hex())))
        .into_tuple::<String>()
        .all(&handles.db)
        .await
        .map_err(|e| {
            handles.metrics.database_error("ballot_key_pins");
            database_unavailable(&e)
        })?
        .into_iter()
        .collect();
    let mut taken = TakenKeys::default();
    for holder in holders {
        let npub = npub(&holder);
        let Some((event, pool)) = pools.get(&holder) else {
            return Err(ApiError::unavailable(format!(
                "ballot key holder {npub} has no ballot key pool signed by it on the relays: \
                 is its `commons-nostr ballot-holder` running?"
            )));
        };
        let Some(key) = first_unused(&pool.keys, &pinned) else {
            return Err(ApiError::unavailable(format!(
                "ballot key holder {npub} has no unused ballot key in its newest pool: every \
                 key there is pinned already; is its `commons-nostr ballot-holder` running?"
            )));
        };
        taken.holders.push(BallotHolder { holder, key });
        taken.pools.push(event.clone());
    }
    Ok(taken)
}

/// The first of `pool` not in `pinned` (keys as hex).
fn first_unused(pool: &[BallotKey], pinned: &HashSet<String>) -> Option<BallotKey> {
    pool.iter().copied().find(|k| !pinned.contains(&k.to_hex()))
}

fn npub(holder: &PublicKey) -> String {
    holder.to_bech32().unwrap_or_else(|_| holder.to_hex())
}

/// Records `holders`' keys as pinned by proposal row `proposal_id`, on `db` (the claim's
/// transaction). A key pinned meanwhile by another proposal is a 503 naming its holder.
pub async fn record_pins(
    db: &impl ConnectionTrait,
    proposal_id: i64,
    holders: &[BallotHolder],
    pinned_at: i64,
) -> Result<(), PinError> {
    for holder in holders {
        let row = ballot_key_pin::ActiveModel {
            ballot_key: Set(holder.key.to_hex()),
            holder: Set(holder.holder.to_hex()),
            proposal_id: Set(proposal_id),
            pinned_at: Set(pinned_at),
            ..Default::default()
        };
        if let Err(e) = row.insert(db).await {
            return Err(match e.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                    PinError::Taken(ApiError::unavailable(format!(
                        "ballot key holder {}: its key {} was pinned by another proposal \
                         meanwhile; try again",
                        npub(&holder.holder),
                        holder.key.to_hex()
                    )))
                }
                _ => PinError::Database(e),
            });
        }
    }
    Ok(())
}

/// Why [`record_pins`] failed.
pub enum PinError {
    /// A key is pinned already: the answer to give.
    Taken(ApiError),
    Database(DbErr),
}

/// Forgets the pins of a proposal row whose event could not be published.
pub async fn release_pins(db: &impl ConnectionTrait, proposal_id: i64) -> Result<(), DbErr> {
    ballot_key_pin::Entity::delete_many()
        .filter(ballot_key_pin::Column::ProposalId.eq(proposal_id))
        .exec(db)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_no_proposal_pinned_is_taken() {
        let keys = [
            BallotKey::from_bytes([1; 32]),
            BallotKey::from_bytes([2; 32]),
            BallotKey::from_bytes([3; 32]),
        ];
        let mut pinned = HashSet::new();
        assert_eq!(first_unused(&keys, &pinned), Some(keys[0]));
        pinned.insert(keys[0].to_hex());
        pinned.insert(keys[2].to_hex());
        assert_eq!(first_unused(&keys, &pinned), Some(keys[1]));
        pinned.insert(keys[1].to_hex());
        assert_eq!(first_unused(&keys, &pinned), None);
        assert_eq!(first_unused(&[], &HashSet::new()), None);
    }
}
