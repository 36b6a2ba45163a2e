//! `tally_leases`: which server publishes the tallies, and until when (see
//! [`crate::store::tally_lease`]).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tally_leases")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What the lease is for: [`crate::store::tally_lease::TALLIES`].
    #[sea_orm(column_type = "Text", unique)]
    pub name: String,
    /// The holder's `server.id`.
    #[sea_orm(column_type = "Text")]
    pub holder: String,
    /// The unix second the lease ends unless its holder renews it.
    pub lease_until: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
