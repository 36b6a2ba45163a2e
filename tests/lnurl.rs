//! `lnurl::resolve_zapper` end to end: a real HTTP exchange with an actix-web server on
//! 127.0.0.1 (plain http, since the function takes the URL), including the failures an operator
//! meets: a provider without Nostr zaps, an unknown name, a server that never answers.

use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use commons_nostr::nostr::lnurl::{resolve_zapper, LnurlError};
use nostr_sdk::{Keys, PublicKey, Url};

const TIMEOUT: Duration = Duration::from_secs(5);

/// What the test provider answers at `/.well-known/lnurlp/gov`.
#[derive(Clone)]
struct Answer {
    status: u16,
    body: String,
}

async fn lnurlp(name: web::Path<String>, answer: web::Data<Answer>) -> HttpResponse {
    if name.as_str() != "gov" {
        return HttpResponse::NotFound().body("no such user");
    }
    let status = actix_web::http::StatusCode::from_u16(answer.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type("application/json")
        .body(answer.body.clone())
}

/// Starts an LNURL provider on a free loopback port; gives its base URL and a handle to stop it.
fn provider(status: u16, body: String) -> std::io::Result<(Url, ServerHandle)> {
    let answer = web::Data::new(Answer { status, body });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(answer.clone())
            .route("/.well-known/lnurlp/{name}", web::get().to(lnurlp))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))?;
    let address = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    let url = Url::parse(&format!("http://{address}/"))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    Ok((url, handle))
}

fn endpoint(base: &Url, name: &str) -> Url {
    base.join(&format!(".well-known/lnurlp/{name}"))
        .expect("endpoint url")
}

fn pay_request(allows_nostr: bool, key: &PublicKey) -> String {
    format!(
        r#"{{"callback":"https://example.org/lnurlp/gov/callback","maxSendable":100000000000,
            "minSendable":1000,"metadata":"[[\"text/plain\",\"Pay to gov\"]]",
            "tag":"payRequest","commentAllowed":255,
            "allowsNostr":{allows_nostr},"nostrPubkey":"{key}"}}"#
    )
}

#[actix_rt::test]
async fn nostr_provider_gives_its_key() -> Result<(), Box<dyn std::error::Error>> {
    let zapper = Keys::generate().public_key();
    let (base, server) = provider(200, pay_request(true, &zapper))?;
    let resolved = resolve_zapper(&endpoint(&base, "gov"), TIMEOUT).await?;
    assert_eq!(resolved, zapper);
    server.stop(false).await;
    Ok(())
}

#[actix_rt::test]
async fn provider_without_nostr_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let (base, server) = provider(200, pay_request(false, &Keys::generate().public_key()))?;
    let result = resolve_zapper(&endpoint(&base, "gov"), TIMEOUT).await;
    assert!(
        matches!(result, Err(LnurlError::NostrNotAllowed)),
        "{result:?}"
    );
    server.stop(false).await;
    Ok(())
}

#[actix_rt::test]
async fn lnurl_errors_are_reported() -> Result<(), Box<dyn std::error::Error>> {
    let (base, server) = provider(
        200,
        r#"{"status":"ERROR","reason":"user disabled"}"#.to_owned(),
    )?;
    let result = resolve_zapper(&endpoint(&base, "gov"), TIMEOUT).await;
    assert!(
        matches!(&result, Err(LnurlError::Service { reason }) if reason == "user disabled"),
        "{result:?}"
    );
    // An unknown name is an HTTP error, named as such.
    let result = resolve_zapper(&endpoint(&base, "nobody"), TIMEOUT).await;
    assert!(
        matches!(result, Err(LnurlError::HttpStatus { status: 404, .. })),
        "{result:?}"
    );
    server.stop(false).await;
    Ok(())
}

#[actix_rt::test]
async fn oversized_answer_is_refused() -> Result<(), Box<dyn std::error::Error>> {
    let padding = "x".repeat(100 * 1024);
    let body = format!(r#"{{"padding":"{padding}"}}"#);
    let (base, server) = provider(200, body)?;
    let result = resolve_zapper(&endpoint(&base, "gov"), TIMEOUT).await;
    assert!(matches!(result, Err(LnurlError::Body { .. })), "{result:?}");
    server.stop(false).await;
    Ok(())
}

#[actix_rt::test]
async fn server_that_never_answers_times_out() -> Result<(), Box<dyn std::error::Error>> {
    // Accepts connections and reads nothing, writes nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let silent = actix_rt::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = Url::parse(&format!("http://{address}/.well-known/lnurlp/gov"))?;
    let started = Instant::now();
    let result = resolve_zapper(&url, Duration::from_millis(300)).await;
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(LnurlError::Timeout { .. })),
        "{result:?}"
    );
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    silent.abort();
    Ok(())
}

#[actix_rt::test]
async fn nobody_listening_is_a_request_error() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let url = Url::parse(&format!("http://{address}/.well-known/lnurlp/gov"))?;
    let result = resolve_zapper(&url, TIMEOUT).await;
    assert!(
        matches!(result, Err(LnurlError::Request { .. })),
        "{result:?}"
    );
    Ok(())
}
