//! `GET /qr.svg?data=<lightning:...>`: a QR code as SVG, drawn here (the `qrcode` crate), so
//! the vote panel can show an invoice with an `img` and no script library. It encodes only
//! what a BOLT11 `lightning:` URI holds (letters, digits and `:`; at most [`MAX_DATA`]
//! characters): nothing else can reach the image, and the SVG carries no text of the request.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Deserialize;

use crate::http::error::ApiError;

/// The longest text encoded (a BOLT11 invoice with a long description hash route hint fits).
pub const MAX_DATA: usize = 2_000;

#[derive(Debug, Deserialize)]
pub struct QrQuery {
    data: String,
}

/// The SVG of `data`, or why it is refused.
pub fn svg(data: &str) -> Result<String, &'static str> {
    if data.is_empty() || data.len() > MAX_DATA {
        return Err("must be 1 to 2000 characters");
    }
    if !data.chars().all(|c| c.is_ascii_alphanumeric() || c == ':') {
        return Err("only letters, digits and ':' (a lightning: invoice URI)");
    }
    // Upper case fits QR's alphanumeric mode: a smaller code for the same invoice.
    let code = QrCode::with_error_correction_level(data.to_ascii_uppercase(), EcLevel::L)
        .map_err(|_| "too long for a QR code")?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// `GET /qr.svg?data=...`.
pub async fn qr_svg(query: web::Query<QrQuery>) -> Result<HttpResponse, ApiError> {
    let body = svg(&query.data).map_err(|why| ApiError::invalid("data", why))?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_invoices_and_refuses_anything_else() {
        let svg = svg("lightning:lnbcrt210n1pjexample").expect("svg");
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<path") || svg.contains("<rect"));
        assert!(!svg.to_lowercase().contains("lnbc"));
        assert!(super::svg("").is_err());
        assert!(super::svg("<script>").is_err());
        assert!(super::svg("a b").is_err());
        assert!(super::svg(&"a".repeat(MAX_DATA + 1)).is_err());
    }
}
