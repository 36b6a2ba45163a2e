//! The admin API's client, behind the `action`, `note`, `restart-bot` and `tally` commands.
//!
//! It talks to the running service at `http://<http.bind>` (a wildcard bind address is reached
//! on loopback) with the same `http.admin_token` the service reads, sent as
//! `Authorization: Bearer <token>`. Every answer is JSON: a success is handed back as it came,
//! a refusal becomes [`ClientError::Api`] carrying the server's message (which names the field
//! at fault). It is an awc client, so it must run inside an actix system.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use awc::http::header;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use crate::configuration::{Settings, SettingsError};
use crate::keys::Secret;

/// How long one request may take (the service answers once the event is committed).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read.
const RESPONSE_LIMIT: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error: its status and message.
    #[error("{message} (HTTP {status})")]
    Api {
        status: u16,
        message: String,
        field: Option<String>,
    },
    #[error("cannot reach the service at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("unexpected answer from {url} (HTTP {status}): {reason}")]
    Unexpected {
        url: String,
        status: u16,
        reason: String,
    },
}

/// A client of one running service's admin API.
pub struct AdminClient {
    base: Url,
    token: Option<Secret>,
    http: awc::Client,
}

/// The URL a client uses to reach a server bound to `bind`.
pub fn base_url(bind: SocketAddr) -> Url {
    let host = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let authority = SocketAddr::new(host, bind.port());
    Url::parse(&format!("http://{authority}/")).expect("a socket address makes a valid http URL")
}

impl AdminClient {
    /// A client for `base`; without a token it can only use the public routes.
    pub fn new(base: Url, token: Option<Secret>) -> AdminClient {
        let http = awc::Client::builder().timeout(REQUEST_TIMEOUT).finish();
        AdminClient { base, token, http }
    }

    /// A client for the service these settings describe, with its admin token read as the
    /// service reads it (`env:` or a private file).
    pub fn from_settings(
        settings: &Settings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<AdminClient, SettingsError> {
        let token = settings.http.admin_token.read("http.admin_token", env)?;
        Ok(AdminClient::new(base_url(settings.http.bind), Some(token)))
    }

    /// A client for the public routes of the service these settings describe.
    pub fn public(settings: &Settings) -> AdminClient {
        AdminClient::new(base_url(settings.http.bind), None)
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `POST /v1/actions` with `body` (see [`crate::nostr::governance_action`]).
    pub async fn publish_action(&self, body: &Value) -> Result<Value, ClientError> {
        self.send(awc::http::Method::POST, &["v1", "actions"], Some(body))
            .await
    }

    /// `POST /v1/bots/{bot}/notes`.
    pub async fn publish_note(
        &self,
        bot: &str,
        content: &str,
        tags: &[Vec<String>],
    ) -> Result<Value, ClientError> {
        #[derive(Serialize)]
        struct Note<'a> {
            content: &'a str,
            tags: &'a [Vec<String>],
        }
        let body = Note { content, tags };
        self.send(
            awc::http::Method::POST,
            &["v1", "bots", bot, "notes"],
            Some(&body),
        )
        .await
    }

    /// `POST /v1/bots/{bot}/restart`.
    pub async fn restart_bot(&self, bot: &str) -> Result<Value, ClientError> {
        self.send::<()>(
            awc::http::Method::POST,
            &["v1", "bots", bot, "restart"],
            None,
        )
        .await
    }

    /// `GET /v1/proposals/{proposal}/tally`.
    pub async fn tally(&self, proposal: &str) -> Result<Value, ClientError> {
        self.send::<()>(
            awc::http::Method::GET,
            &["v1", "proposals", proposal, "tally"],
            None,
        )
        .await
    }

    /// `base` with the path segments appended, each percent-encoded as needed.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn send<B: Serialize>(
        &self,
        method: awc::http::Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<Value, ClientError> {
        let url = self.url(segments);
        let mut request = self.http.request(method, url.as_str());
        if let Some(token) = &self.token {
            request = request
                .insert_header((header::AUTHORIZATION, format!("Bearer {}", token.expose())));
        }
        let sent = match body {
            Some(body) => request.send_json(body).await,
            None => request.send().await,
        };
        let mut response = sent.map_err(|e| ClientError::Unreachable {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let status = response.status();
        let bytes =
            response
                .body()
                .limit(RESPONSE_LIMIT)
                .await
                .map_err(|e| ClientError::Unexpected {
                    url: url.to_string(),
                    status: status.as_u16(),
                    reason: e.to_string(),
                })?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            return json.ok_or_else(|| ClientError::Unexpected {
                url: url.to_string(),
                status: status.as_u16(),
                reason: "the answer is not JSON".to_owned(),
            });
        }
        let text = |key: &str| {
            json.as_ref()
                .and_then(|j| j.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let message = text("error").unwrap_or_else(|| {
            let raw = String::from_utf8_lossy(&bytes).trim().to_owned();
            if raw.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("no explanation")
                    .to_owned()
            } else {
                raw
            }
        });
        Err(ClientError::Api {
            status: status.as_u16(),
            message,
            field: text("field"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_reached_on_loopback() {
        let url = |s: &str| base_url(s.parse().unwrap()).to_string();
        assert_eq!(url("127.0.0.1:8080"), "http://127.0.0.1:8080/");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080/");
        assert_eq!(url("[::]:9000"), "http://[::1]:9000/");
        assert_eq!(url("10.1.2.3:80"), "http://10.1.2.3/");
    }

    #[actix_rt::test]
    async fn path_segments_are_encoded() {
        let client = AdminClient::new(base_url("127.0.0.1:1".parse().unwrap()), None);
        assert_eq!(
            client.url(&["v1", "bots", "a/b c", "notes"]).as_str(),
            "http://127.0.0.1:1/v1/bots/a%2Fb%20c/notes"
        );
    }
}
