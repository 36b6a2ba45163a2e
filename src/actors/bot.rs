//! `BotActor`: one per `[nostr.bots.<name>]`.
//!
//! A bot owns its identity: its keys, its profile (kind 0, with its lightning address as
//! `lud16`) and its NIP-65 relay list (kind 10002). It publishes both at start when they differ
//! from what it last published (so a restart re-signs nothing that has not changed), signs what
//! it is asked to publish, and hands every signed event to the [`Outbox`], which commits it
//! before any relay sees it.
//!
//! A bot also holds its sealed-ballot keys without storing them: [`GetBallotKey`] gives the
//! public key it derives for a proposal (`crate::votes::derive_gov_ballot_secret`, from its own
//! key and the proposal's `d`), and [`RevealBallotSecret`] publishes the private key, once the
//! proposal's window has closed, in a ballot secret event. The secret never leaves the actor
//! otherwise and is never logged.
//!
//! Adding a bot is a settings section; the actor is the same for every bot. A bot with
//! behaviour of its own (say, one that reacts to mentions) is a new actor file next to this one
//! that keeps a `BotActor` for its identity and sends it [`PublishEvent`]s.

use std::sync::Arc;

use actix::prelude::*;
use nostr_sdk::{
    Event, EventBuilder, EventId, JsonUtil, Keys, Kind, PublicKey, RelayUrl, Timestamp,
};

use crate::actors::supervision::{ChildGuard, StopChild, SupervisedActor};
use crate::configuration::BotSettings;
use crate::nostr::events;
use crate::store::outbox::{self, Outbox};

#[derive(Clone)]
pub struct BotSpec {
    pub name: String,
    pub keys: Keys,
    pub settings: BotSettings,
    /// The relays written into the bot's NIP-65 list.
    pub relays: Vec<RelayUrl>,
    pub outbox: Outbox,
}

pub struct BotActor {
    spec: BotSpec,
    guard: ChildGuard,
}

/// Signs the event and commits it to the outbox; answers once it is durable.
#[derive(Message)]
#[rtype(result = "Result<Published, BotError>")]
pub struct PublishEvent(pub EventBuilder);

#[derive(Debug, Clone)]
pub struct Published {
    pub event_id: EventId,
    pub event: Arc<Event>,
}

/// The bot's ballot key for the proposal whose `d` tag is `proposal_d` (its X25519 public
/// key, derived from the bot's key: the same after a restart and on every server).
#[derive(Message)]
#[rtype(result = "crate::votes::BallotKey")]
pub struct GetBallotKey {
    pub proposal_d: String,
}

/// Publishes the bot's ballot secret for `proposal` (whose `d` is `proposal_d`), with
/// `created_at` = `at`. Only for a proposal whose window has closed: `at` must be its `end` or
/// later, which the handler checks against the clock too. The same request always makes the
/// same event id (same key, `at` and content), so asking twice publishes once.
#[derive(Message)]
#[rtype(result = "Result<Published, BotError>")]
pub struct RevealBallotSecret {
    pub proposal: EventId,
    pub proposal_d: String,
    pub at: Timestamp,
}

/// The bot's public identity.
#[derive(Message)]
#[rtype(result = "BotIdentity")]
pub struct GetIdentity;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub name: String,
    pub pubkey: PublicKey,
    pub lightning_address: String,
}

/// Fault injection for supervision tests: the handler panics, as a bug would.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InjectPanic;

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("cannot sign the event: {0}")]
    Sign(String),
    #[error("cannot store the event in the outbox: {0}")]
    Outbox(#[from] sea_orm::DbErr),
    #[error("a ballot secret is revealed only after its proposal's window has closed")]
    TooEarly,
}

impl SupervisedActor for BotActor {
    type Spec = BotSpec;
    const KIND: &'static str = "bot";

    fn build(spec: &BotSpec, guard: ChildGuard) -> Self {
        BotActor {
            spec: spec.clone(),
            guard,
        }
    }
}

impl Actor for BotActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let spec = self.spec.clone();
        // `wait`: publish requests queue behind the identity events, so a client that fetches
        // a bot's note finds its profile already there.
        ctx.wait(
            async move { publish_identity(&spec).await }
                .into_actor(self)
                .map(|res, act, _| {
                    if let Err(e) = res {
                        tracing::error!(bot = %act.spec.name, error = %e, "cannot publish the bot's profile");
                    }
                }),
        );
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.guard.mark_stopped();
    }
}

/// Publishes the profile and relay list when they differ from the last ones in the outbox.
async fn publish_identity(spec: &BotSpec) -> Result<(), BotError> {
    let db = spec.outbox.db();
    let pubkey = spec.keys.public_key();
    let profile = &spec.settings.profile;
    let wanted_profile = events::bot_profile(
        &profile.name,
        &profile.about,
        Some(profile.picture.as_str()).filter(|p| !p.is_empty()),
        &spec.settings.lightning_address,
    );
    let wanted_list = events::relay_list(&spec.relays);
    for (kind, builder) in [
        (Kind::Metadata, wanted_profile),
        (Kind::RelayList, wanted_list),
    ] {
        let event = sign(&spec.keys, builder)?;
        let last = outbox::latest_by(db, &pubkey, kind).await?;
        if last.is_some_and(|last| same_identity(&last, &event)) {
            continue;
        }
        spec.outbox.publish(event, &spec.name).await?;
        tracing::info!(bot = %spec.name, kind = kind.as_u16(), "published bot identity");
    }
    Ok(())
}

/// Whether two identity events (kind 0 or 10002) say the same thing.
fn same_identity(a: &Event, b: &Event) -> bool {
    let content = |e: &Event| serde_json::from_str::<serde_json::Value>(&e.content).ok();
    let tags = |e: &Event| {
        let mut t: Vec<String> = e.tags.iter().map(|t| t.as_slice().join("\u{1f}")).collect();
        t.sort();
        t
    };
    a.kind == b.kind && (content(a) == content(b) || a.content == b.content) && tags(a) == tags(b)
}

fn sign(keys: &Keys, builder: EventBuilder) -> Result<Event, BotError> {
    builder
        .sign_with_keys(keys)
        .map_err(|e| BotError::Sign(e.to_string()))
}

impl Handler<PublishEvent> for BotActor {
    type Result = ResponseActFuture<Self, Result<Published, BotError>>;

    fn handle(&mut self, msg: PublishEvent, _: &mut Context<Self>) -> Self::Result {
        let outbox = self.spec.outbox.clone();
        let name = self.spec.name.clone();
        let signed = sign(&self.spec.keys, msg.0);
        Box::pin(
            async move {
                let event = signed?;
                let event_id = event.id;
                tracing::debug!(bot = %name, %event_id, kind = event.kind.as_u16(), json = %event.as_json(), "publishing");
                let entry = outbox.publish(event, &name).await?;
                Ok(Published {
                    event_id,
                    event: entry.event,
                })
            }
            .into_actor(self),
        )
    }
}

impl Handler<GetBallotKey> for BotActor {
    type Result = MessageResult<GetBallotKey>;

    fn handle(&mut self, msg: GetBallotKey, _: &mut Context<Self>) -> Self::Result {
        let secret =
            crate::votes::derive_gov_ballot_secret(self.spec.keys.secret_key(), &msg.proposal_d);
        MessageResult(crate::votes::BallotKey::from_secret(&secret))
    }
}

impl Handler<RevealBallotSecret> for BotActor {
    type Result = ResponseActFuture<Self, Result<Published, BotError>>;

    fn handle(&mut self, msg: RevealBallotSecret, _: &mut Context<Self>) -> Self::Result {
        if msg.at > Timestamp::now() {
            return Box::pin(fut::ready(Err(BotError::TooEarly)));
        }
        let secret =
            crate::votes::derive_gov_ballot_secret(self.spec.keys.secret_key(), &msg.proposal_d);
        let key = crate::votes::BallotKey::from_secret(&secret);
        let builder = crate::nostr::ballot_secret::ballot_secret(msg.proposal, &key, &secret)
            .custom_created_at(msg.at);
        let signed = sign(&self.spec.keys, builder);
        drop(secret);
        let outbox = self.spec.outbox.clone();
        let name = self.spec.name.clone();
        Box::pin(
            async move {
                let event = signed?;
                let event_id = event.id;
                // No JSON in the log: it holds the secret (public from now on, but a log is no
                // place to look for it).
                tracing::info!(bot = %name, %event_id, proposal = %msg.proposal, key = %key, "revealing a ballot secret");
                let entry = outbox.publish(event, &name).await?;
                Ok(Published {
                    event_id,
                    event: entry.event,
                })
            }
            .into_actor(self),
        )
    }
}

impl Handler<GetIdentity> for BotActor {
    type Result = MessageResult<GetIdentity>;

    fn handle(&mut self, _: GetIdentity, _: &mut Context<Self>) -> Self::Result {
        MessageResult(BotIdentity {
            name: self.spec.name.clone(),
            pubkey: self.spec.keys.public_key(),
            lightning_address: self.spec.settings.lightning_address.clone(),
        })
    }
}

impl Handler<InjectPanic> for BotActor {
    type Result = ();

    fn handle(&mut self, _: InjectPanic, _: &mut Context<Self>) {
        panic!("injected failure in bot {}", self.spec.name);
    }
}

impl Handler<StopChild> for BotActor {
    type Result = ();

    fn handle(&mut self, _: StopChild, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_comparison_ignores_signature_and_time() {
        let keys = Keys::generate();
        let a = sign(
            &keys,
            events::bot_profile("n", "a", None, "gov@example.org"),
        )
        .unwrap();
        let b = sign(
            &keys,
            events::bot_profile("n", "a", None, "gov@example.org")
                .custom_created_at(nostr_sdk::Timestamp::from(1)),
        )
        .unwrap();
        assert_ne!(a.id, b.id);
        assert!(same_identity(&a, &b));
        let c = sign(
            &keys,
            events::bot_profile("n", "changed", None, "gov@example.org"),
        )
        .unwrap();
        assert!(!same_identity(&a, &c));
        let r1: RelayUrl = RelayUrl::parse("wss://a.example.org").unwrap();
        let r2: RelayUrl = RelayUrl::parse("wss://b.example.org").unwrap();
        let l1 = sign(&keys, events::relay_list(&[r1.clone(), r2.clone()])).unwrap();
        let l2 = sign(&keys, events::relay_list(&[r2, r1.clone()])).unwrap();
        let l3 = sign(&keys, events::relay_list(&[r1])).unwrap();
        assert!(same_identity(&l1, &l2));
        assert!(!same_identity(&l1, &l3));
    }
}
