//! RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode,
//! the suite of every ballot layer. The published values, checked through the same `hpke` calls
//! and RNG adapter the tokens use: both key pairs from their `ikm`, sealing with the ephemeral
//! key the RFC derives from `ikmE` (giving its `enc` and ciphertexts), opening with `skRm`, and
//! the exporter.

use hpke::aead::AesGcm128;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};

use super::ballot_key::BallotKem;
use super::token::HpkeRng;

const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
const IKM_E: &str = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
const PK_EM: &str = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
const SK_EM: &str = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
const IKM_R: &str = "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037";
const PK_RM: &str = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
const SK_RM: &str = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
const ENC: &str = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
/// (sequence number, aad, ciphertext) of the encryptions the RFC lists.
const ENCRYPTIONS: [(u32, &str, &str); 4] = [
    (
        0,
        "436f756e742d30",
        "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
    ),
    (
        1,
        "436f756e742d31",
        "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84",
    ),
    (
        2,
        "436f756e742d32",
        "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180",
    ),
    (
        4,
        "436f756e742d34",
        "583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a09fc0012bc69fccaa251c0246d",
    ),
];
/// (exporter context, 32-byte exported value).
const EXPORTS: [(&str, &str); 3] = [
    (
        "",
        "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee",
    ),
    (
        "00",
        "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5",
    ),
    (
        "54657374436f6e74657874",
        "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931",
    ),
];

fn bytes(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text).expect("test vector hex")
}

/// A `rand` RNG that yields the RFC's `ikmE` (then zeros): what makes sealing deterministic.
pub(crate) struct ReplayRng {
    bytes: Vec<u8>,
    at: usize,
}

impl ReplayRng {
    pub(crate) fn new(bytes: Vec<u8>) -> ReplayRng {
        ReplayRng { bytes, at: 0 }
    }
}

impl rand::RngCore for ReplayRng {
    fn next_u32(&mut self) -> u32 {
        let mut word = [0u8; 4];
        self.fill_bytes(&mut word);
        u32::from_le_bytes(word)
    }
    fn next_u64(&mut self) -> u64 {
        let mut word = [0u8; 8];
        self.fill_bytes(&mut word);
        u64::from_le_bytes(word)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            *byte = self.bytes.get(self.at).copied().unwrap_or(0);
            self.at += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand::CryptoRng for ReplayRng {}

/// RFC 7748's clamping: what X25519 does to a private key before using it.
fn clamped(hex_text: &str) -> String {
    let mut sk = bytes(hex_text);
    sk[0] &= 248;
    sk[31] &= 127;
    sk[31] |= 64;
    hex::encode(sk)
}

#[test]
fn derive_key_pair_gives_the_published_key_pairs() {
    // The crate keeps private keys clamped, the RFC prints them as derived: compare clamped.
    for (ikm, sk, pk) in [(IKM_E, SK_EM, PK_EM), (IKM_R, SK_RM, PK_RM)] {
        let (derived_sk, derived_pk) = BallotKem::derive_keypair(&bytes(ikm));
        assert_eq!(hex::encode(derived_sk.to_bytes()), clamped(sk));
        assert_eq!(hex::encode(derived_pk.to_bytes()), pk);
        // And the published private key, as our secrets are kept (unclamped bytes), gives the
        // published public key.
        let secret = crate::nostr::ballot_keys::BallotSecret::from_hex(sk).expect("hex");
        assert_eq!(
            crate::nostr::ballot_keys::BallotKey::from_secret(&secret).to_hex(),
            pk
        );
    }
}

#[test]
fn sealing_from_ikm_e_gives_the_published_enc_and_ciphertexts() {
    let (_, pk_r) = BallotKem::derive_keypair(&bytes(IKM_R));
    let mut rng = ReplayRng::new(bytes(IKM_E));
    let (enc, mut sender) = hpke::setup_sender_with_rng::<AesGcm128, HkdfSha256, BallotKem>(
        &OpModeS::Base,
        &pk_r,
        &bytes(INFO),
        &mut HpkeRng(&mut rng),
    )
    .expect("setup");
    assert_eq!(hex::encode(enc.to_bytes()), ENC);
    let mut seq = 0;
    for (at, aad, ct) in ENCRYPTIONS {
        while seq < at {
            sender.seal(&bytes(PT), b"skip").expect("seal");
            seq += 1;
        }
        let sealed = sender.seal(&bytes(PT), &bytes(aad)).expect("seal");
        seq += 1;
        assert_eq!(hex::encode(sealed), ct, "sequence {at}");
    }
}

#[test]
fn opening_with_sk_r_gives_the_plaintext_and_the_exporter_matches() {
    let (sk_r, _) = BallotKem::derive_keypair(&bytes(IKM_R));
    let enc = <BallotKem as Kem>::EncappedKey::from_bytes(&bytes(ENC)).expect("enc");
    let mut receiver = hpke::setup_receiver::<AesGcm128, HkdfSha256, BallotKem>(
        &OpModeR::Base,
        &sk_r,
        &enc,
        &bytes(INFO),
    )
    .expect("setup");
    // The receiver's sequence advances with each open: the consecutive encryptions 0, 1, 2
    // (the sender test covers 4).
    for (at, aad, ct) in ENCRYPTIONS.iter().take(3) {
        let opened = receiver.open(&bytes(ct), &bytes(aad)).expect("open");
        assert_eq!(hex::encode(opened), PT, "sequence {at}");
    }
    // A ciphertext with the wrong aad does not open.
    assert!(receiver
        .open(&bytes(ENCRYPTIONS[3].2), &bytes(ENCRYPTIONS[0].1))
        .is_err());
    for (context, value) in EXPORTS {
        let mut out = [0u8; 32];
        receiver.export(&bytes(context), &mut out).expect("export");
        assert_eq!(hex::encode(out), value, "context {context:?}");
    }
}
