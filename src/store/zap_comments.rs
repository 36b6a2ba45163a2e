//! The zap comments the public page shows beside each voter: the zap request's content of
//! given receipts, read by the unique `receipt_id` index a few hundred at a time. The page reads
//! each receipt's comment once and keeps it, so no page request reads the database.

use std::collections::HashMap;

use nostr_sdk::EventId;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::store::entities::zap_receipt;

/// Receipt ids per `IN (...)` list: far below both databases' parameter limits.
const IDS_PER_QUERY: usize = 500;

/// The zap request content of each of `receipts` that is recorded.
pub async fn zap_comments(
    db: &DatabaseConnection,
    receipts: &[EventId],
) -> Result<HashMap<EventId, String>, DbErr> {
    let mut found = HashMap::with_capacity(receipts.len());
    for chunk in receipts.chunks(IDS_PER_QUERY) {
        let ids: Vec<String> = chunk.iter().map(EventId::to_hex).collect();
        let rows: Vec<(String, String)> = zap_receipt::Entity::find()
            .select_only()
            .column(zap_receipt::Column::ReceiptId)
            .column(zap_receipt::Column::ZapRequestContent)
            .filter(zap_receipt::Column::ReceiptId.is_in(ids))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(
            rows.into_iter()
                .filter_map(|(id, content)| Some((EventId::from_hex(&id).ok()?, content))),
        );
    }
    Ok(found)
}
