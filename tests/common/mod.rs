//! Helpers shared by the integration tests; each test file includes them with `mod common;`.
#![allow(dead_code)]

pub mod app;
pub mod binary;
pub mod browser;
pub mod db_text;
pub mod holders;
pub mod http;
pub mod log_capture;
pub mod naive;
pub mod nip07;
pub mod raw_relay;
pub mod relays;
pub mod sealed;
pub mod tcp_proxy;
pub mod test_db;
pub mod verifier;
pub mod watch;
pub mod zaps;
