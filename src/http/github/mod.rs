//! `POST /webhooks/github`: GitHub's webhook, which turns pull requests of
//! `github.repositories` into governance actions (DESIGN.md "Governance actions from GitHub").
//!
//! One folder, one concern a file, in the order a delivery meets them:
//!
//! 1. [`route`]: with `github.webhook_secret` unset the route is a 404. Otherwise the body is
//!    read raw, at most [`route::BODY_LIMIT`] bytes (a 413 beyond, unread);
//! 2. [`signature`]: `X-Hub-Signature-256` is checked over those raw bytes, in constant time,
//!    before anything parses them; missing or wrong: 401, nothing stored or published;
//! 3. `X-GitHub-Delivery` (required) is looked up: a delivery handled before is answered
//!    with what it did the first time (200) and publishes nothing
//!    ([`crate::store::github_delivery`]);
//! 4. [`payload`]: the body is read for its event; not GitHub's JSON: 400 naming the field,
//!    nothing stored;
//! 5. [`decision`]: what it leads to: pong, ignored (202, with the reason), or an action;
//! 6. an action is published through the same path as `POST /v1/actions`
//!    ([`crate::http::actions::publish`]: outbox, audit log, vote aggregator, announcement),
//!    with the delivery claimed first and its outcome recorded after, so a redelivery, or the
//!    same delivery reaching two servers on one database, publishes once. A second review
//!    period for a pull request is refused by that path (409 there) and answered here as a
//!    duplicate (200).
//!
//! Every answer is JSON: `{"delivery", "event", "outcome", "action", "reason", "event_id",
//! "address", ...}` when handled, `{"error", "field"}` when refused. Deliveries are counted in
//! `commons_github_deliveries_total{event, outcome}`.

pub mod decision;
pub mod payload;
pub mod route;
pub mod signature;

pub use route::receive;
