//! `commons-nostr ballot-holder`: an independent ballot key holder (DESIGN.md "Sealed ballots",
//! *Independent holders*; "Command line").
//!
//! A holder is someone the operator does not control (a keyholder, an auditor, a second
//! organisation) whose key every sealed ballot is also sealed to: with one or more holders, not
//! even the operator can read a ballot before every holder has revealed. The process needs no
//! database and no settings file, only its Nostr key, its relays and its keys file:
//!
//! 1. it keeps `--pool` unused X25519 ballot keys, and its newest "ballot key pool" event
//!    (30078, `d` = `ballot-keys`) lists exactly them;
//! 2. it follows the proposals that name it (`#p` = its pubkey; with `--operator`, only those
//!    the named gov bots signed) and records each key a proposal pinned, with the proposal's
//!    close; then it tops the pool up and publishes the new pool;
//! 3. once every proposal that pinned a key has closed, it publishes that key's secret (the
//!    "ballot secret" event, one per proposal), once: if it was down at the close, as soon as it
//!    is back; and a secret already on the relays is never published again.
//!
//! The keys file ([`key_store`]) is the one thing it must never lose. The relay work lives in
//! [`holder`]; what a proposal says about this holder's keys in [`pinned`].

pub mod holder;
pub mod key_store;
pub mod pinned;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub use holder::{run, HolderError};
pub use key_store::{KeyStore, KeyStoreError};

/// The pool size when `--pool` is not given.
pub const DEFAULT_POOL: u16 = 20;

/// The keys file when `--keys` is not given (in the current directory).
pub const DEFAULT_KEYS_FILE: &str = "ballot-keys.json";

/// `commons-nostr ballot-holder`.
#[derive(Debug, Clone, Args)]
#[command(
    about = "An independent ballot key holder: keeps a pool of unused ballot keys published, \
             and publishes each used key's secret once its proposal has closed",
    long_about = "An independent ballot key holder (DESIGN.md \"Sealed ballots\"). Sealed ballots \
are sealed to every holder's key: with independent holders, nobody (the operator included) can \
read a ballot before every holder has revealed.\n\n\
It keeps --pool unused X25519 ballot keys published in its \"ballot key pool\" event, watches the \
relays for proposals that pin one of them, and publishes that key's secret once the proposal's \
voting window has closed (at its next start if it was down at the close). It needs no database \
and no settings file.\n\n\
NEVER LOSE THE KEYS FILE (--keys): it holds the private keys. A key whose secret is lost can \
never be revealed, and every proposal that pinned it stays sealed (it can then never pass). Back \
it up after every start (it changes whenever a proposal takes a key), keep it private (mode \
0600; a file others can read is refused), and never give it to the operator: a holder whose \
secrets the operator can read protects nothing. Keep the --key (your Nostr identity) as safe: \
the operator names you by it."
)]
pub struct BallotHolderArgs {
    /// The holder's Nostr secret key: a file (nsec1 or hex, mode 0600) or env:VAR.
    #[arg(long, value_name = "FILE|env:VAR")]
    pub key: String,
    /// A relay to publish to and read from (repeat for several).
    #[arg(long = "relay", required = true, value_name = "URL")]
    pub relays: Vec<String>,
    /// How many unused ballot keys to keep published.
    #[arg(long, default_value_t = DEFAULT_POOL, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub pool: u16,
    /// Where the ballot keys' private keys are kept (mode 0600, written atomically).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_KEYS_FILE)]
    pub keys: PathBuf,
    /// Seconds to wait for the relays at each read.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// The gov bot (npub or hex) whose proposals may pin this holder's keys (repeat for the
    /// gov bots of several services). Without it, any signed review period naming this holder
    /// pins a key, so anyone can make a key's secret due early with a forged proposal.
    #[arg(long = "operator", value_name = "NPUB")]
    pub operators: Vec<String>,
}

impl BallotHolderArgs {
    pub fn pool_size(&self) -> usize {
        usize::from(self.pool)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}
