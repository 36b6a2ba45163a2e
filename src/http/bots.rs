//! `POST /v1/bots/{bot}/restart`, and reaching a bot from a handler.
//!
//! Handlers reach a bot only through its supervisor ([`ToChild`]), so a bot that is
//! restarting answers "try again shortly" (503) instead of leaving a stale address behind. A
//! bot that is not configured is a 404 naming `bot`; a configured bot that is not running (say,
//! `nostr.enabled = false`) is a 503.

use actix::dev::ToEnvelope;
use actix::{Handler, Message};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use nostr_sdk::EventBuilder;
use serde::Serialize;

use super::error::ApiError;
use crate::actors::bot::{BotActor, BotError, PublishEvent, Published};
use crate::actors::supervision::{RestartChild, SupervisionError, ToChild};
use crate::http::handles::ServiceHandles;

/// The configured bot called `name`, or a 404 naming `bot`.
pub fn known_bot<'a>(handles: &'a ServiceHandles, name: &str) -> Result<&'a str, ApiError> {
    handles
        .bot_pubkeys
        .iter()
        .find(|(bot, _)| bot == name)
        .map(|(bot, _)| bot.as_str())
        .ok_or_else(|| {
            let configured: Vec<&str> = handles
                .bot_pubkeys
                .iter()
                .map(|(b, _)| b.as_str())
                .collect();
            ApiError::not_found(
                "bot",
                format!(
                    "no bot named '{name}' (configured: {})",
                    configured.join(", ")
                ),
            )
        })
}

fn supervision_error(bot: &str, e: SupervisionError) -> ApiError {
    match e {
        SupervisionError::UnknownChild { .. } => ApiError::unavailable(format!(
            "bot {bot} is not running (is nostr.enabled false?)"
        )),
        SupervisionError::Unavailable { .. } => ApiError::unavailable(e.to_string()),
    }
}

/// Sends `msg` to a bot through its supervisor, turning every way it can fail into an API error.
pub async fn ask_bot<M>(handles: &ServiceHandles, bot: &str, msg: M) -> Result<M::Result, ApiError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    BotActor: Handler<M>,
    <BotActor as actix::Actor>::Context: ToEnvelope<BotActor, M>,
{
    handles
        .bots
        .send(ToChild {
            name: bot.to_owned(),
            msg,
        })
        .await
        .map_err(|_| ApiError::unavailable("the bot supervisor is not running"))?
        .map_err(|e| supervision_error(bot, e))
}

/// Has `bot` sign `builder` and commit it to the outbox. When the outbox cannot be written
/// (the database is down or too slow) the answer is a 503: nothing was committed, so nothing
/// will be sent, and the same request can simply be made again.
pub async fn publish_as(
    handles: &ServiceHandles,
    bot: &str,
    builder: EventBuilder,
) -> Result<Published, ApiError> {
    ask_bot(handles, bot, PublishEvent(builder))
        .await?
        .map_err(|e| match e {
            BotError::Outbox(e) => database_unavailable(&e),
            other => ApiError::internal(format!("bot {bot}: {other}")),
        })
}

/// 503 for a write the database refused: nothing was stored, the request may be repeated.
pub fn database_unavailable(e: &sea_orm::DbErr) -> ApiError {
    ApiError::unavailable(format!(
        "the database is unavailable, nothing was published; try again ({e})"
    ))
}

#[derive(Debug, Serialize)]
struct Restarting<'a> {
    bot: &'a str,
    status: &'static str,
}

/// `POST /v1/bots/{bot}/restart`: 202 once the restart is under way.
pub async fn restart(
    handles: web::Data<ServiceHandles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let bot = known_bot(&handles, &path)?;
    handles
        .bots
        .send(RestartChild(bot.to_owned()))
        .await
        .map_err(|_| ApiError::unavailable("the bot supervisor is not running"))?
        .map_err(|e| supervision_error(bot, e))?;
    tracing::info!(bot, "bot restart requested over the admin API");
    Ok(HttpResponse::build(StatusCode::ACCEPTED).json(Restarting {
        bot,
        status: "restarting",
    }))
}
