//! The ballot key holder's keys on disk (`--keys`, default `ballot-keys.json`): every X25519
//! key pair it made, and for each the proposals that pinned it and whether its secret has been
//! published for each of them.
//!
//! This file is the one thing a holder must never lose: a key whose secret is gone can never be
//! revealed, and every proposal that pinned it stays sealed for ever (it can then never pass).
//! It is written atomically (a private temporary file beside it, flushed, then renamed over it,
//! then the directory flushed), mode 0600, and refused at load when others can read it. Nothing
//! here ever prints a secret: [`HeldKey`]'s `Debug` shows the public key only.
//!
//! The rules are pure: [`KeyStore::top_up`] keeps `pool` unused keys, [`KeyStore::pin`] records a
//! proposal that pinned a key, and [`KeyStore::due`] says which secrets may be published at a
//! moment: a key's secret is revealed only once **every** proposal that pinned it has closed (a
//! second proposal pinning a key already used, by mistake or by someone trying to burn it, can
//! delay its reveal but never bring it forward).

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use nostr_sdk::EventId;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::keys::check_private;
use crate::nostr::ballot_keys::{BallotKey, BallotSecret};

/// The file format's version.
const FORMAT_VERSION: u32 = 1;

/// A proposal that pinned a key: its id, its window's end, and whether this key's secret for it
/// is on the relays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The proposal's event id (hex on disk).
    pub proposal: EventId,
    /// The end of its voting window (unix seconds).
    pub end: u64,
    /// Its ballot secret event has been accepted by a relay (or was found there).
    pub revealed: bool,
}

/// One key pair the holder made.
pub struct HeldKey {
    pub key: BallotKey,
    secret: BallotSecret,
    /// The proposals that pinned it, in the order they were seen. Empty: unused (in the pool).
    pub pins: Vec<Pin>,
}

impl HeldKey {
    /// The key's private key, to reveal once [`KeyStore::due`] says so.
    pub fn secret(&self) -> &BallotSecret {
        &self.secret
    }

    /// When its secret may be published: the latest end of the proposals that pinned it.
    fn reveal_at(&self) -> Option<u64> {
        self.pins.iter().map(|p| p.end).max()
    }
}

impl fmt::Debug for HeldKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeldKey")
            .field("key", &self.key.to_hex())
            .field("pins", &self.pins)
            .finish_non_exhaustive()
    }
}

/// Why the keys file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error("{0}")]
    NotPrivate(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a ballot keys file: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The keys file as JSON (secrets as hex, wiped from memory after use).
#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    keys: Vec<KeyRecord>,
}

#[derive(Serialize, Deserialize)]
struct KeyRecord {
    key: String,
    secret: String,
    #[serde(default)]
    pins: Vec<Pin>,
}

impl Drop for KeyRecord {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

/// Every key the holder made, in the order it made them, and where they are kept.
#[derive(Debug)]
pub struct KeyStore {
    path: PathBuf,
    keys: Vec<HeldKey>,
}

impl KeyStore {
    /// Reads the keys file at `path`, or starts an empty store when there is none yet (it is
    /// created at the first [`KeyStore::save`]). Refuses a file others can read, one that does
    /// not parse, and one whose secret does not belong to its key.
    pub fn load(path: &Path) -> Result<KeyStore, KeyStoreError> {
        if !path.exists() {
            return Ok(KeyStore {
                path: path.to_owned(),
                keys: Vec::new(),
            });
        }
        check_private("--keys", path).map_err(|e| KeyStoreError::NotPrivate(e.to_string()))?;
        let text = Zeroizing::new(fs::read(path).map_err(|source| KeyStoreError::Read {
            path: path.to_owned(),
            source,
        })?);
        let malformed = |reason: String| KeyStoreError::Malformed {
            path: path.to_owned(),
            reason,
        };
        let file: KeyFile = serde_json::from_slice(&text)
            // serde's message may quote the input: say only where it broke.
            .map_err(|e| malformed(format!("line {} column {}", e.line(), e.column())))?;
        if file.version != FORMAT_VERSION {
            return Err(malformed(format!(
                "version {} (this program reads {FORMAT_VERSION})",
                file.version
            )));
        }
        let mut keys = Vec::with_capacity(file.keys.len());
        for (i, mut record) in file.keys.into_iter().enumerate() {
            let key =
                BallotKey::from_hex(&record.key).map_err(|e| malformed(format!("key {i}: {e}")))?;
            let secret = BallotSecret::from_hex(&record.secret)
                .map_err(|e| malformed(format!("key {i}'s secret: {e}")))?;
            if BallotKey::from_secret(&secret) != key {
                return Err(malformed(format!(
                    "key {i} ({}) does not belong to its secret",
                    key.to_hex()
                )));
            }
            keys.push(HeldKey {
                key,
                secret,
                pins: std::mem::take(&mut record.pins),
            });
        }
        Ok(KeyStore {
            path: path.to_owned(),
            keys,
        })
    }

    /// Writes the store to its file atomically, mode 0600.
    pub fn save(&self) -> Result<(), KeyStoreError> {
        let file = KeyFile {
            version: FORMAT_VERSION,
            keys: self
                .keys
                .iter()
                .map(|k| KeyRecord {
                    key: k.key.to_hex(),
                    secret: k.secret.reveal_hex(),
                    pins: k.pins.clone(),
                })
                .collect(),
        };
        let mut bytes =
            Zeroizing::new(
                serde_json::to_vec_pretty(&file).map_err(|e| KeyStoreError::Write {
                    path: self.path.clone(),
                    source: std::io::Error::other(e),
                })?,
            );
        bytes.push(b'\n');
        replace_private_file(&self.path, &bytes).map_err(|source| KeyStoreError::Write {
            path: self.path.clone(),
            source,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The unused keys (pinned by no proposal), oldest first: what the pool event lists.
    pub fn unused(&self) -> Vec<BallotKey> {
        self.keys
            .iter()
            .filter(|k| k.pins.is_empty())
            .map(|k| k.key)
            .collect()
    }

    /// Makes new keys until `pool` are unused; answers how many it made.
    pub fn top_up<R: rand::RngCore + rand::CryptoRng>(
        &mut self,
        pool: usize,
        rng: &mut R,
    ) -> usize {
        let missing = pool.saturating_sub(self.keys.iter().filter(|k| k.pins.is_empty()).count());
        for _ in 0..missing {
            let secret = BallotSecret::generate(rng);
            self.keys.push(HeldKey {
                key: BallotKey::from_secret(&secret),
                secret,
                pins: Vec::new(),
            });
        }
        missing
    }

    /// Records that `proposal` (closing at `end`) pinned `key`. Answers whether anything
    /// changed: `false` for a key this holder never made, or a pin already known.
    pub fn pin(&mut self, key: &BallotKey, proposal: EventId, end: u64) -> bool {
        let Some(held) = self.keys.iter_mut().find(|k| k.key == *key) else {
            return false;
        };
        if held.pins.iter().any(|p| p.proposal == proposal) {
            return false;
        }
        held.pins.push(Pin {
            proposal,
            end,
            revealed: false,
        });
        true
    }

    /// The (key, proposal) pairs whose secret may be published at `now` and is not yet: every
    /// proposal that pinned the key has closed.
    pub fn due(&self, now: u64) -> Vec<(BallotKey, EventId)> {
        self.keys
            .iter()
            .filter(|k| k.reveal_at().is_some_and(|at| at <= now))
            .flat_map(|k| {
                k.pins
                    .iter()
                    .filter(|p| !p.revealed)
                    .map(move |p| (k.key, p.proposal))
            })
            .collect()
    }

    /// The next moment after `now` at which a secret falls due, if any is waiting.
    pub fn next_due(&self, now: u64) -> Option<u64> {
        self.keys
            .iter()
            .filter(|k| k.pins.iter().any(|p| !p.revealed))
            .filter_map(HeldKey::reveal_at)
            .filter(|at| *at > now)
            .min()
    }

    /// The held key `key`, if this holder made it.
    pub fn get(&self, key: &BallotKey) -> Option<&HeldKey> {
        self.keys.iter().find(|k| k.key == *key)
    }

    /// Records that `key`'s secret for `proposal` is on the relays. Answers whether anything
    /// changed.
    pub fn mark_revealed(&mut self, key: &BallotKey, proposal: &EventId) -> bool {
        let Some(pin) = self
            .keys
            .iter_mut()
            .find(|k| k.key == *key)
            .and_then(|k| k.pins.iter_mut().find(|p| p.proposal == *proposal))
        else {
            return false;
        };
        let changed = !pin.revealed;
        pin.revealed = true;
        changed
    }
}

/// Replaces `path` with `bytes` atomically: a new private file (mode 0600) beside it, flushed,
/// renamed over it, and the directory flushed, so a crash leaves the old file or the new one,
/// never half of either.
fn replace_private_file(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.to_owned(),
        None => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the keys file needs a file name"))?;
    let mut temporary = dir.join(name);
    temporary.set_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        fs::File::open(&dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> KeyStore {
        KeyStore::load(&dir.join("ballot-keys.json")).expect("an empty store")
    }

    #[test]
    fn keeps_the_pool_topped_up_and_pins_take_keys_out() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = store(dir.path());
        let mut rng = rand::thread_rng();
        assert_eq!(keys.top_up(3, &mut rng), 3);
        assert_eq!(keys.top_up(3, &mut rng), 0);
        let pool = keys.unused();
        assert_eq!(pool.len(), 3);
        let proposal = EventId::from_byte_array([7; 32]);
        assert!(keys.pin(&pool[0], proposal, 100));
        assert!(!keys.pin(&pool[0], proposal, 100), "a pin is recorded once");
        assert!(!keys.pin(&BallotKey::from_bytes([9; 32]), proposal, 100));
        assert_eq!(keys.unused(), pool[1..].to_vec());
        assert_eq!(keys.top_up(3, &mut rng), 1);
        assert_eq!(keys.unused().len(), 3);
    }

    #[test]
    fn a_secret_falls_due_when_every_proposal_pinning_it_has_closed() {
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = store(dir.path());
        keys.top_up(1, &mut rand::thread_rng());
        let key = keys.unused()[0];
        let (early, late) = (
            EventId::from_byte_array([1; 32]),
            EventId::from_byte_array([2; 32]),
        );
        keys.pin(&key, early, 100);
        assert_eq!(keys.due(99), vec![]);
        assert_eq!(keys.next_due(99), Some(100));
        assert_eq!(keys.due(100), vec![(key, early)]);
        // A second proposal pinning the same key holds its reveal back to the later close.
        keys.pin(&key, late, 200);
        assert_eq!(keys.due(150), vec![]);
        assert_eq!(keys.next_due(150), Some(200));
        assert_eq!(keys.due(200), vec![(key, early), (key, late)]);
        assert!(keys.mark_revealed(&key, &early));
        assert!(!keys.mark_revealed(&key, &early));
        assert_eq!(keys.due(200), vec![(key, late)]);
        keys.mark_revealed(&key, &late);
        assert_eq!(keys.due(1_000), vec![]);
        assert_eq!(keys.next_due(150), None);
    }

    #[cfg(unix)]
    #[test]
    fn saves_privately_and_reads_back_what_it_saved() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = store(dir.path());
        keys.top_up(2, &mut rand::thread_rng());
        let key = keys.unused()[1];
        let proposal = EventId::from_byte_array([3; 32]);
        keys.pin(&key, proposal, 42);
        keys.save().expect("saves");
        let mode = fs::metadata(keys.path())
            .expect("file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left behind");
        let again = KeyStore::load(keys.path()).expect("reads back");
        assert_eq!(again.unused(), keys.unused());
        assert_eq!(
            again.get(&key).expect("held").pins,
            keys.get(&key).expect("held").pins
        );
        assert_eq!(
            again.get(&key).expect("held").secret().reveal_hex(),
            keys.get(&key).expect("held").secret().reveal_hex()
        );
        let debug = format!("{again:?}");
        assert!(!debug.contains(&keys.get(&key).expect("held").secret().reveal_hex()));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_file_others_can_read_or_one_that_was_tampered_with() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let mut keys = store(dir.path());
        keys.top_up(1, &mut rand::thread_rng());
        keys.save().expect("saves");
        let path = keys.path().to_owned();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = KeyStore::load(&path).expect_err("readable by others");
        assert!(error.to_string().contains("readable by others"), "{error}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        let text = fs::read_to_string(&path).expect("text");
        let key = keys.unused()[0].to_hex();
        let other = BallotKey::from_bytes([1; 32]).to_hex();
        fs::write(&path, text.replace(&key, &other)).expect("tamper");
        let error = KeyStore::load(&path).expect_err("key and secret disagree");
        assert!(error.to_string().contains("does not belong"), "{error}");
        assert!(!error.to_string().contains(
            &keys
                .get(&keys.unused()[0])
                .expect("held")
                .secret()
                .reveal_hex()
        ));
    }
}
