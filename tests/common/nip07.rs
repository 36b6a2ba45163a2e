//! A NIP-07 signer for the browser tests: what an extension injects as `window.nostr`, with
//! the signing done in Rust by the test, so no key or signing code is in the page.

use std::time::Duration;

use fantoccini::Client;
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

use super::browser::{eval, wait_for_script};

/// The signer as a browser extension injects it: `window.nostr`. Each `signEvent` waits
/// in `window.signRequests` until the test signs it (in Rust, with the voter's key) and hands
/// it back through WebDriver, so no key or signing code is in the page.
const SIGNER_SCRIPT: &str = "
    var pubkey = arguments[0];
    window.signRequests = [];
    window.nostr = {
        getPublicKey: function () { return Promise.resolve(pubkey); },
        signEvent: function (event) {
            return new Promise(function (resolve) { window.signRequests.push({ event: event, resolve: resolve }); });
        }
    };
    return true;";

/// The zap request the page asked to sign, signed by `keys`.
fn sign_as(keys: &Keys, unsigned: &Value) -> Event {
    let tags: Vec<Tag> = unsigned["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| {
            let parts: Vec<String> = t
                .as_array()
                .expect("a tag")
                .iter()
                .map(|p| p.as_str().expect("a string").to_owned())
                .collect();
            Tag::parse(parts).expect("tag")
        })
        .collect();
    assert_eq!(unsigned["kind"], 9734);
    EventBuilder::new(
        Kind::ZapRequest,
        unsigned["content"].as_str().expect("content"),
    )
    .tags(tags)
    .custom_created_at(Timestamp::from(
        unsigned["created_at"].as_u64().expect("created_at"),
    ))
    .sign_with_keys(keys)
    .expect("signed")
}

/// Gives the open page a NIP-07 signer for `pubkey`.
pub async fn inject_signer(client: &Client, pubkey: &PublicKey) {
    client
        .execute(SIGNER_SCRIPT, vec![json!(pubkey.to_hex())])
        .await
        .expect("inject the signer");
}

/// Waits up to `within` for the page's first request to sign, and returns the unsigned event.
pub async fn first_sign_request(client: &Client, within: Duration) -> Value {
    wait_for_script(
        client,
        within,
        "a zap request to sign",
        "return window.signRequests.length === 1;",
    )
    .await;
    eval(client, "return window.signRequests[0].event;").await
}

/// Signs the page's first request (`unsigned`, a zap request) with `keys` and hands it back.
pub async fn sign_first_request(client: &Client, keys: &Keys, unsigned: &Value) {
    let signed = sign_as(keys, unsigned);
    let signed_json: Value = serde_json::from_str(&signed.as_json()).expect("json");
    client
        .execute(
            "window.signRequests[0].resolve(arguments[0]); return true;",
            vec![signed_json],
        )
        .await
        .expect("hand back the signed request");
}
