//! An operator's view of a running service: its HTTP API through an awc client, and counts of
//! what the governance-action and note routes write, to prove that a refusal wrote nothing.

use std::net::SocketAddr;
use std::time::Duration;

use awc::http::{header, StatusCode};
use commons_nostr::store::entities::{audit_log_entry, governance_proposal, outbox_event};
use nostr_sdk::PublicKey;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::Value;

/// The HTTP API of one service, as an operator holding (or not) its admin token calls it.
pub struct Api {
    base: String,
    token: String,
    client: awc::Client,
}

/// One answer: its status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub json: Value,
    pub www_authenticate: Option<String>,
}

impl Answer {
    /// The `field` of an error answer.
    pub fn field(&self) -> Option<&str> {
        self.json.get("field").and_then(Value::as_str)
    }

    /// The `error` of an error answer.
    pub fn error(&self) -> &str {
        self.json
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// A string field of a success answer.
    pub fn text(&self, key: &str) -> &str {
        self.json
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {key} in {}", self.json))
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// The service's admin token.
    Admin,
    /// No `Authorization` header.
    Anonymous,
    /// This exact `Authorization` header value.
    Header(&'a str),
}

impl Api {
    pub fn new(addr: SocketAddr, token: &str) -> Api {
        Api {
            base: format!("http://{addr}"),
            token: token.to_string(),
            client: awc::Client::builder()
                .timeout(Duration::from_secs(30))
                .finish(),
        }
    }

    pub async fn post(&self, path: &str, auth: Auth<'_>, body: &Value) -> Answer {
        let request = self.request(self.client.post(format!("{}{path}", self.base)), auth);
        let response = request.send_json(body).await;
        Self::answer(response).await
    }

    /// A POST with a raw body (for bodies that are not JSON).
    pub async fn post_raw(&self, path: &str, auth: Auth<'_>, body: &'static str) -> Answer {
        let request = self.request(self.client.post(format!("{}{path}", self.base)), auth);
        let response = request
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .send_body(body)
            .await;
        Self::answer(response).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        let response = self.client.get(format!("{}{path}", self.base)).send().await;
        Self::answer(response).await
    }

    /// `GET path` with `auth`.
    pub async fn get_with(&self, path: &str, auth: Auth<'_>) -> Answer {
        let request = self.request(self.client.get(format!("{}{path}", self.base)), auth);
        Self::answer(request.send().await).await
    }

    /// `GET /metrics`, as text.
    pub async fn metrics(&self) -> String {
        let mut response = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.body().await.expect("metrics body");
        String::from_utf8(body.to_vec()).expect("metrics are text")
    }

    fn request(&self, request: awc::ClientRequest, auth: Auth<'_>) -> awc::ClientRequest {
        match auth {
            Auth::Admin => {
                request.insert_header((header::AUTHORIZATION, format!("Bearer {}", self.token)))
            }
            Auth::Anonymous => request,
            Auth::Header(value) => request.insert_header((header::AUTHORIZATION, value)),
        }
    }

    async fn answer(
        response: Result<
            awc::ClientResponse<
                impl futures::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>,
            >,
            awc::error::SendRequestError,
        >,
    ) -> Answer {
        let mut response = response.expect("the service answers");
        let status = response.status();
        let www_authenticate = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.body().await.expect("response body");
        Answer {
            status,
            json: serde_json::from_slice(&body).unwrap_or(Value::Null),
            www_authenticate,
        }
    }
}

/// The value of one metric line (`name{labels}`), or 0 when the line is absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(series)?;
            rest.strip_prefix(' ')?.trim().parse().ok()
        })
        .unwrap_or(0.0)
}

/// What the action and note routes can write, counted: a refused request changes none of it.
/// Only the rows these routes write are counted (the bots' events, proposals and action audit
/// entries), so the service's own start-up publications do not disturb the count, nor do the
/// tallies the vote aggregator publishes (a proposal's first one comes `tally_debounce_secs`
/// after it, which a loaded machine can reach before the count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub bot_events: u64,
    pub proposals: u64,
    pub action_audit_entries: u64,
}

pub async fn written(db: &DatabaseConnection, bots: &[PublicKey]) -> Written {
    let authors: Vec<String> = bots.iter().map(PublicKey::to_hex).collect();
    let bot_events = outbox_event::Entity::find()
        .filter(outbox_event::Column::Author.is_in(authors))
        .filter(outbox_event::Column::Kind.is_in([1, 30078]))
        .filter(
            Condition::any()
                .add(outbox_event::Column::DTag.is_null())
                .add(outbox_event::Column::DTag.not_like("tally:%")),
        )
        .count(db)
        .await
        .expect("count outbox events");
    let proposals = governance_proposal::Entity::find()
        .count(db)
        .await
        .expect("count proposals");
    let action_audit_entries = audit_log_entry::Entity::find()
        .filter(audit_log_entry::Column::EntryType.is_in([
            "merge",
            "review-period",
            "keyholder",
            "fork",
        ]))
        .count(db)
        .await
        .expect("count audit entries");
    Written {
        bot_events,
        proposals,
        action_audit_entries,
    }
}
