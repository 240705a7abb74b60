//! QR codes as inline SVG, made on the server: no image crate, no external service, and nothing
//! the page's Content-Security-Policy has to allow (an inline `<svg>` is markup, not a load).

use qrcodegen::{QrCode, QrCodeEcc};

/// Modules of quiet zone around the code, as the QR specification asks.
const BORDER: i32 = 4;

/// `text` as an SVG QR code (medium error correction), or `None` if it is too long to encode.
/// The SVG scales to its container; each dark module is one unit square of a single path.
pub fn svg(text: &str, title: &str) -> Option<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + BORDER, y + BORDER));
            }
        }
    }
    let side = size + 2 * BORDER;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         width=\"240\" height=\"240\" role=\"img\" aria-label=\"{title}\" \
         shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>",
        title = minijinja::HtmlEscape(title),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_otpauth_uri_becomes_a_square_svg_with_dark_modules() {
        let svg = super::svg(
            "otpauth://totp/Tessera:ada%40example.com?secret=GEZDGNBVGY3TQOJQ&issuer=Tessera",
            "QR code <for> \"ada\"",
        )
        .unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
        assert!(svg.contains("aria-label=\"QR code &lt;for&gt; &quot;ada&quot;\""));
        assert!(svg.matches("h1v1h-1z").count() > 100);
        assert!(super::svg(&"x".repeat(5000), "too long").is_none());
    }
}
