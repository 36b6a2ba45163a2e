//! The `POST /webhooks/github` handler: the order of the checks (see [`super`]), the
//! deliveries' records, and the answers.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use nostr_sdk::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::decision::{self, Decision};
use super::{payload, signature};
use crate::http::actions::{self, ActionPublished};
use crate::http::error::{self, ApiError};
use crate::http::handles::ServiceHandles;
use crate::keys::Secret;
use crate::nostr::governance_action::GovernanceAction;
use crate::store::entities::github_delivery::Model as DeliveryRow;
use crate::store::github_delivery::{self, Answer, Claim, Delivery, Outcome};

/// The largest delivery read: 1 MiB. GitHub caps payloads at 25 MB, but the events read here
/// are far smaller: a pull request's body is at most 65,536 characters, and a whole
/// `pull_request` payload with it is a few hundred KB at most. Larger bodies are refused (413)
/// before they are read in full, so nobody can make the service hold 25 MB per request.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// `X-GitHub-Delivery`: the delivery's GUID, the same on a redelivery.
pub const DELIVERY_HEADER: &str = "X-GitHub-Delivery";
/// `X-GitHub-Event`: `ping`, `pull_request`, `pull_request_review`...
pub const EVENT_HEADER: &str = "X-GitHub-Event";

/// A claimed delivery still processing after this long is taken to be abandoned (its server
/// died half-way) and may be taken over by a redelivery.
const STALE_CLAIM_SECS: i64 = 120;
/// How long a delivery that another request is publishing waits for its outcome.
const WAIT_FOR_CLAIM: Duration = Duration::from_secs(30);
const WAIT_STEP: Duration = Duration::from_millis(100);

/// A handled delivery's answer.
#[derive(Debug, Serialize)]
struct Handled<'a> {
    delivery: &'a str,
    event: &'a str,
    outcome: &'static str,
    /// The governance action (`review-period`, `merge`, `keyholder`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    /// Why nothing (new) was published, or what failed after publishing.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The published action: `event_id`, `address`, `naddr`, announcement and poll.
    #[serde(flatten)]
    published: Option<&'a ActionPublished>,
    /// The action's event when it was published but a later step failed (`published` is
    /// then `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<String>,
}

/// `POST /webhooks/github`.
pub async fn receive(
    req: HttpRequest,
    handles: web::Data<ServiceHandles>,
    payload: web::Payload,
) -> HttpResponse {
    let Some(secret) = handles.github_webhook_secret.clone() else {
        return error::no_such_route().await;
    };
    let event = header(&req, EVENT_HEADER).unwrap_or_default().to_owned();
    let (outcome, response) = match deliver(&req, &handles, &secret, payload, &event).await {
        Ok(answered) => answered,
        Err(refused) => (Outcome::Refused, refused.error_response()),
    };
    handles.metrics.github_delivery(&event, outcome.as_str());
    response
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A delivery id as GitHub makes them (a GUID): 1 to 100 letters, digits and `-`.
fn valid_delivery_id(id: &str) -> bool {
    (1..=100).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

async fn read_body(payload: web::Payload) -> Result<web::Bytes, ApiError> {
    match payload.to_bytes_limited(BODY_LIMIT).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(ApiError::invalid(
            "body",
            format!("cannot read the request body: {e}"),
        )),
        Err(_) => Err(ApiError::field(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body",
            format!("body: larger than {BODY_LIMIT} bytes"),
        )),
    }
}

async fn deliver(
    req: &HttpRequest,
    handles: &ServiceHandles,
    secret: &Secret,
    payload: web::Payload,
    event: &str,
) -> Result<(Outcome, HttpResponse), ApiError> {
    // 1, 2: the raw body, bounded, and its signature before anything reads it.
    let body = read_body(payload).await?;
    if let Err(e) = signature::verify(
        secret.expose().as_bytes(),
        &body,
        header(req, signature::HEADER),
    ) {
        tracing::warn!(
            delivery = header(req, DELIVERY_HEADER).unwrap_or("-"),
            error = %e,
            "GitHub webhook delivery refused"
        );
        return Err(ApiError::field(
            StatusCode::UNAUTHORIZED,
            signature::HEADER,
            e.to_string(),
        ));
    }
    let content_type = header(req, "content-type").unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::invalid(
            "Content-Type",
            "the webhook must send application/json (Content type in the webhook's settings on GitHub)",
        ));
    }
    let delivery_id = header(req, DELIVERY_HEADER).ok_or_else(|| {
        ApiError::invalid(
            DELIVERY_HEADER,
            "missing: every GitHub delivery carries one",
        )
    })?;
    if !valid_delivery_id(delivery_id) {
        return Err(ApiError::invalid(
            DELIVERY_HEADER,
            "must be 1 to 100 letters, digits or '-'",
        ));
    }
    if event.is_empty() {
        return Err(ApiError::invalid(
            EVENT_HEADER,
            "missing: every GitHub delivery carries one",
        ));
    }
    let delivery = Delivery {
        id: delivery_id,
        event,
        server_id: &handles.settings.server.id,
    };

    // 3: handled before? (A claim abandoned half-way is taken over below instead.)
    if let Some(row) = github_delivery::find(&handles.db, delivery.id)
        .await
        .map_err(|e| database(handles, &e))?
    {
        if !github_delivery::is_abandoned(&row, unix_now(), STALE_CLAIM_SECS) {
            return settled(handles, row).await;
        }
    }

    // 4, 5: read it and decide.
    let read = payload::parse(event, &body)
        .map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, e.field.clone(), e.to_string()))?;
    let github = &handles.settings.github;
    let now = Timestamp::now();
    match decision::decide(&read, github, &handles.settings.governance) {
        Decision::Pong => {
            let body = Handled {
                delivery: delivery.id,
                event,
                outcome: Outcome::Ignored.as_str(),
                action: None,
                reason: Some("pong".into()),
                published: None,
                event_id: None,
            };
            record(
                handles,
                delivery,
                Outcome::Ignored,
                StatusCode::OK,
                &body,
                None,
            )
            .await
        }
        Decision::Ignore(reason) => {
            tracing::info!(delivery = delivery.id, event, %reason, "GitHub delivery ignored");
            let body = Handled {
                delivery: delivery.id,
                event,
                outcome: Outcome::Ignored.as_str(),
                action: None,
                reason: Some(reason),
                published: None,
                event_id: None,
            };
            record(
                handles,
                delivery,
                Outcome::Ignored,
                StatusCode::ACCEPTED,
                &body,
                None,
            )
            .await
        }
        Decision::Publish(request) => match GovernanceAction::parse(*request, now) {
            Ok(action) => publish(handles, delivery, &action, now).await,
            Err(e) => {
                // The pull request makes no valid action (say, a repository name the action
                // rules refuse): recorded, so a redelivery answers the same.
                let body = Handled {
                    delivery: delivery.id,
                    event,
                    outcome: Outcome::Refused.as_str(),
                    action: None,
                    reason: Some(e.to_string()),
                    published: None,
                    event_id: None,
                };
                record(
                    handles,
                    delivery,
                    Outcome::Refused,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &body,
                    None,
                )
                .await
            }
        },
    }
}

fn database(handles: &ServiceHandles, e: &sea_orm::DbErr) -> ApiError {
    handles.metrics.database_error("github_delivery");
    ApiError::unavailable(format!(
        "the database is unavailable, nothing was published; redeliver later ({e})"
    ))
}

fn to_json(body: &Handled<'_>) -> String {
    serde_json::to_string(body).unwrap_or_else(|_| "{}".into())
}

/// Records a delivery that publishes nothing, and answers it (or, if it was recorded
/// meanwhile, what it was answered then).
async fn record(
    handles: &ServiceHandles,
    delivery: Delivery<'_>,
    outcome: Outcome,
    status: StatusCode,
    body: &Handled<'_>,
    event_id: Option<String>,
) -> Result<(Outcome, HttpResponse), ApiError> {
    let answer = Answer {
        outcome,
        status: status.as_u16(),
        body: to_json(body),
        event_id,
    };
    let now = unix_now();
    match github_delivery::record(&handles.db, delivery, &answer, now)
        .await
        .map_err(|e| database(handles, &e))?
    {
        None => Ok((outcome, respond(status, &answer.body))),
        Some(row) => settled(handles, row).await,
    }
}

/// Publishes the action of a delivery: claim, publish, record the outcome.
async fn publish(
    handles: &ServiceHandles,
    delivery: Delivery<'_>,
    action: &GovernanceAction,
    now: Timestamp,
) -> Result<(Outcome, HttpResponse), ApiError> {
    let claim = github_delivery::claim(&handles.db, delivery, unix_now(), STALE_CLAIM_SECS)
        .await
        .map_err(|e| database(handles, &e))?;
    let kind = action.kind().as_str();
    let row_id = match claim {
        Claim::Taken(row_id) => row_id,
        Claim::TakenOver { row_id, since } => {
            match interrupted(handles, delivery, action, row_id, since).await? {
                Some(answered) => return Ok(answered),
                None => row_id,
            }
        }
        Claim::Handled(row) | Claim::InProgress(row) => return settled(handles, row).await,
    };
    let handled =
        |outcome: Outcome, reason: Option<String>, published: Option<&ActionPublished>| {
            to_json(&Handled {
                delivery: delivery.id,
                event: delivery.event,
                outcome: outcome.as_str(),
                action: Some(kind),
                reason,
                published,
                event_id: None,
            })
        };
    let answer = match actions::publish(handles, action, now).await {
        Ok(published) => {
            tracing::info!(delivery = delivery.id, action = kind, event_id = %published.event_id, "GitHub delivery published a governance action");
            Answer {
                outcome: Outcome::Published,
                status: StatusCode::CREATED.as_u16(),
                body: handled(Outcome::Published, None, Some(&published)),
                event_id: Some(published.event_id.clone()),
            }
        }
        Err(failure) => match failure.published {
            // A second review period for the pull request: the action path's own refusal.
            None if failure.error.status == StatusCode::CONFLICT => Answer {
                outcome: Outcome::Duplicate,
                status: StatusCode::OK.as_u16(),
                body: handled(
                    Outcome::Duplicate,
                    Some(format!("already open: {}", failure.error.error)),
                    None,
                ),
                event_id: None,
            },
            // Nothing was published: let a redelivery try again.
            None => {
                if let Err(e) = github_delivery::release(&handles.db, row_id).await {
                    tracing::error!(delivery = delivery.id, error = %e, "cannot release the claim of an unpublished GitHub delivery; a redelivery will wait for it to go stale");
                }
                return Err(failure.error);
            }
            // Published, but a later step failed: the event stands, and is what it did.
            Some(event_id) => Answer {
                outcome: Outcome::Published,
                status: failure.error.status.as_u16(),
                body: to_json(&Handled {
                    delivery: delivery.id,
                    event: delivery.event,
                    outcome: Outcome::Published.as_str(),
                    action: Some(kind),
                    reason: Some(failure.error.error.clone()),
                    published: None,
                    event_id: Some(event_id.to_hex()),
                }),
                event_id: Some(event_id.to_hex()),
            },
        },
    };
    if let Err(e) = github_delivery::finish(&handles.db, row_id, &answer, unix_now()).await {
        handles.metrics.database_error("github_delivery");
        tracing::error!(delivery = delivery.id, error = %e, "the GitHub delivery's outcome could not be recorded; a redelivery within a few minutes waits, a later one may publish again");
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    Ok((answer.outcome, respond(status, &answer.body)))
}

/// A claim taken over from an attempt that was interrupted (its server died between claiming
/// the delivery and recording its outcome): if that attempt committed the action's event, it
/// is what the delivery did, and is recorded and answered as such; `None`: nothing was
/// committed, publish.
async fn interrupted(
    handles: &ServiceHandles,
    delivery: Delivery<'_>,
    action: &GovernanceAction,
    row_id: i64,
    since: i64,
) -> Result<Option<(Outcome, HttpResponse)>, ApiError> {
    let Some((_, gov)) = handles
        .bot_pubkeys
        .iter()
        .find(|(name, _)| name == actions::GOV_BOT)
    else {
        return Ok(None);
    };
    let committed =
        github_delivery::committed_since(&handles.db, &gov.to_hex(), &action.d_tag(), since)
            .await
            .map_err(|e| database(handles, &e))?;
    let Some(event_id) = committed else {
        return Ok(None);
    };
    tracing::warn!(delivery = delivery.id, %event_id, "a GitHub delivery whose earlier attempt was interrupted had published its action; recording that instead of publishing again");
    let answer = Answer {
        outcome: Outcome::Published,
        status: StatusCode::OK.as_u16(),
        body: to_json(&Handled {
            delivery: delivery.id,
            event: delivery.event,
            outcome: Outcome::Published.as_str(),
            action: Some(action.kind().as_str()),
            reason: Some(
                "published by an earlier attempt at this delivery that was interrupted".into(),
            ),
            published: None,
            event_id: Some(event_id.clone()),
        }),
        event_id: Some(event_id),
    };
    github_delivery::finish(&handles.db, row_id, &answer, unix_now())
        .await
        .map_err(|e| database(handles, &e))?;
    Ok(Some((
        Outcome::Duplicate,
        respond(StatusCode::OK, &answer.body),
    )))
}

/// Answers a delivery that was handled before (or is being handled by another request or
/// server, once that finishes): what it did, with `redelivery: true`; a first answer of 201
/// becomes 200 (nothing was created this time).
async fn settled(
    handles: &ServiceHandles,
    mut row: DeliveryRow,
) -> Result<(Outcome, HttpResponse), ApiError> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_CLAIM;
    while row.outcome == github_delivery::PROCESSING {
        if tokio::time::Instant::now() >= deadline {
            return Err(ApiError::field(
                StatusCode::CONFLICT,
                DELIVERY_HEADER,
                format!(
                    "{DELIVERY_HEADER}: delivery {} is being handled by server {}; redeliver it later",
                    row.delivery_id, row.handled_by
                ),
            ));
        }
        tokio::time::sleep(WAIT_STEP).await;
        row =
            match github_delivery::find(&handles.db, &row.delivery_id)
                .await
                .map_err(|e| database(handles, &e))?
            {
                Some(row) => row,
                // Released (its publication failed with nothing published): a redelivery retries.
                None => return Err(ApiError::unavailable(
                    "the first attempt at this delivery failed and published nothing; redeliver it",
                )),
            };
    }
    let mut body: Value = serde_json::from_str(&row.answer).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut body {
        fields.insert("redelivery".into(), Value::Bool(true));
    }
    // DESIGN.md: a redelivery "answers 200 with what it did the first time", whatever the
    // first answer's status was (201 published, 202 ignored, 422 refused): the body says it.
    Ok((Outcome::Duplicate, HttpResponse::Ok().json(body)))
}

fn respond(status: StatusCode, json: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(json.to_owned())
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
