//! The security headers of every response: a strict Content-Security-Policy (scripts and
//! styles from this server only, no inline script or style, no framing, no plugins, forms
//! posting nowhere else), `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` for
//! browsers that predate `frame-ancestors`, and no referrer leaking proposal ids.
//!
//! `connect-src` also allows the origin of the gov bot's lightning address, where the vote
//! panel asks for the invoice (the development provider is this same origin).

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;

/// The Content-Security-Policy, allowing `fetch` to `connect` origins besides this one.
pub fn content_security_policy(connect: &[String]) -> String {
    let mut connect_src = String::from("'self'");
    for origin in connect {
        connect_src.push(' ');
        connect_src.push_str(origin);
    }
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src {connect_src}; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'; object-src 'none'"
    )
}

/// The headers, added to every response that does not set them itself.
pub fn headers(csp: &str) -> DefaultHeaders {
    let mut headers = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"));
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers = headers.add((header::CONTENT_SECURITY_POLICY, value));
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_script_and_no_framing() {
        let csp = content_security_policy(&["https://pay.example.org".to_owned()]);
        assert!(csp.contains("script-src 'self';"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(!csp.contains("unsafe-eval"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("connect-src 'self' https://pay.example.org;"));
        assert!(HeaderValue::from_str(&csp).is_ok());
    }
}
