//! NIPs implemented here, one module per NIP number.
pub mod nip57;
