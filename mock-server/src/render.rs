//! The last stage of the flow: a method's [`Reply`] becomes an HTTP response in the documented
//! shape (API-REFERENCE.md 1.6): the error wrappers, the declaration, plain text, gzip delivery
//! for `gzip_xml` methods (quirk `gzip_delivery`), the XML API Extension wrapper (setting
//! `xml_extension`, quirk `xml_extension_wrapper`) and the HTTP status of errors (quirk
//! `error_http_status`, 200 by default as the PHP client expects).

use std::cell::Cell;
use std::io::Write as _;

use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use http::header::{CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use model::catalogue::{BodyKind, Declaration, Method, Wrapper};
use model::quirks::{GzipDelivery, XmlExtensionWrapper};
use model::xml::{Document, Element, Layout};
use model::{Quirks, Settings};

use crate::methods::Reply;

/// Content type of XML answers.
pub const XML: &str = "application/xml; charset=utf-8";
/// Content type of plain-text answers.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// Render a reply of `method` (None: no method was resolved) under these settings and quirks.
pub fn render(
    reply: &Reply,
    method: Option<&Method>,
    settings: &Settings,
    quirks: &Quirks,
) -> Response<Bytes> {
    match reply {
        Reply::Xml(doc) => success(doc.render(Layout::Pretty), method, settings, quirks),
        Reply::Rendered(text) => success(text.clone(), method, settings, quirks),
        Reply::Listing(l) => success(l.render_pretty(), method, settings, quirks),
        Reply::Action(doc) => {
            let body = extension(doc.render(Layout::Pretty), settings, quirks);
            respond_typed(StatusCode::OK, xml_type(), body.into())
        }
        Reply::Text(text) => respond_typed(StatusCode::OK, text_type(), text.clone().into()),
        Reply::Error { text, wrapper } => {
            let status = StatusCode::from_u16(quirks.error_http_status).unwrap_or(StatusCode::OK);
            error(text, *wrapper, method, status, settings, quirks)
        }
        Reply::Redirect(to) => {
            let mut r = respond_typed(StatusCode::FOUND, text_type(), Bytes::new());
            if let Ok(v) = HeaderValue::from_str(to) {
                r.headers_mut().insert(LOCATION, v);
            }
            r
        }
    }
}

/// [`render`] of a reply that is no longer needed: a written document is delivered without a
/// copy.
pub fn render_owned(
    reply: Reply,
    method: Option<&Method>,
    settings: &Settings,
    quirks: &Quirks,
) -> Response<Bytes> {
    match reply {
        Reply::Rendered(text) => success(text, method, settings, quirks),
        other => render(&other, method, settings, quirks),
    }
}

/// The document of an error text in a wrapper (None for the plain-text wrapper).
pub fn error_document(text: &str, wrapper: Wrapper, method: Option<&Method>) -> Option<Document> {
    let err = || Element::new("error").text(text);
    let root = match wrapper {
        Wrapper::Text => return None,
        Wrapper::Bare => err(),
        Wrapper::BareCapital => Element::new("Error").text(text),
        Wrapper::Page => Element::new("page").child(err()),
        Wrapper::Status => Element::new("status").child(err()),
        Wrapper::PageStatus => Element::new("page").child(Element::new("status").child(err())),
        Wrapper::ResponseMessage => Element::new("response")
            .child(Element::new("error").child(Element::new("message").text(text))),
        Wrapper::Response => Element::new("response").child(err()),
        Wrapper::Action => {
            return Some(Document {
                declaration: Declaration::Standalone,
                root: Element::new("action")
                    .leaf("name", action_name(method))
                    .leaf("status", "failed")
                    .leaf("status_message", text),
            })
        }
    };
    Some(Document::new(root))
}

/// `login` for user_login, `logout` for user_logout (the `<name>` of an `<action>` answer).
fn action_name(method: Option<&Method>) -> &str {
    match method.map(|m| m.name.as_str()) {
        Some("user_login") => "login",
        Some("user_logout") => "logout",
        Some(other) => other,
        None => "api",
    }
}

/// An error answer with an explicit status.
pub fn error(
    text: &str,
    wrapper: Wrapper,
    method: Option<&Method>,
    status: StatusCode,
    settings: &Settings,
    quirks: &Quirks,
) -> Response<Bytes> {
    match error_document(text, wrapper, method) {
        Some(doc) => {
            let body = extension(doc.render(Layout::Pretty), settings, quirks);
            respond_typed(status, xml_type(), body.into())
        }
        None => respond_typed(status, text_type(), text.to_string().into()),
    }
}

/// Wrap XML in the XML API Extension's HTML tag when the setting is on.
/// A success document, delivered as the method's catalogue entry and the settings say.
fn success(
    text: String,
    method: Option<&Method>,
    settings: &Settings,
    quirks: &Quirks,
) -> Response<Bytes> {
    let gzip = method.is_some_and(|m| m.response.body == BodyKind::GzipXml);
    let body = extension(text, settings, quirks);
    if gzip {
        gzipped(body, method.map_or("answer", |m| m.name.as_str()), quirks)
    } else {
        respond_typed(StatusCode::OK, xml_type(), body.into())
    }
}

/// The content type of XML answers, made at compile time (`HeaderValue::from_static` checks
/// every byte when it runs: ~330 instructions per answer).
fn xml_type() -> HeaderValue {
    const { HeaderValue::from_static(XML) }
}

/// The content type of plain-text answers, made at compile time (see [`xml_type`]).
fn text_type() -> HeaderValue {
    const { HeaderValue::from_static(TEXT) }
}

fn extension(xml: String, settings: &Settings, quirks: &Quirks) -> String {
    if !settings.xml_extension || quirks.answer_delivery == model::quirks::AnswerDelivery::X3 {
        // X3's XML API Extension only chooses the download's type (quirk answer_delivery).
        return xml;
    }
    match quirks.xml_extension_wrapper {
        XmlExtensionWrapper::HtmlBody => format!("<html><body>{xml}</body></html>"),
        XmlExtensionWrapper::Html => format!("<html>{xml}</html>"),
    }
}

fn gzipped(xml: String, name: &str, quirks: &Quirks) -> Response<Bytes> {
    if quirks.gzip_delivery == GzipDelivery::Plain {
        return respond_typed(StatusCode::OK, xml_type(), xml.into());
    }
    let compressed = gzip(xml.as_bytes());
    match quirks.gzip_delivery {
        GzipDelivery::Attachment => {
            let mut r = respond(StatusCode::OK, "application/x-gzip", compressed.into());
            let disposition = format!("attachment; filename=\"{name}.xml.gz\"");
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                r.headers_mut().insert(CONTENT_DISPOSITION, v);
            }
            r
        }
        GzipDelivery::ContentEncoding | GzipDelivery::Plain => {
            let mut r = respond_typed(StatusCode::OK, xml_type(), compressed.into());
            r.headers_mut()
                .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
    }
}

/// Gzip bytes (writing to a Vec cannot fail; an impossible failure yields an empty body).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 4 + 32), Compression::fast());
    if enc.write_all(data).is_err() {
        return Vec::new();
    }
    enc.finish().unwrap_or_default()
}

/// A response with a status, a content type and a body.
pub fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Bytes> {
    respond_typed(status, HeaderValue::from_static(content_type), body)
}

std::thread_local! {
    /// The emptied header map of an API request answered on this thread, for the next answer
    /// built here ([`recycle_headers`]).
    static SPARE_HEADERS: Cell<Option<HeaderMap>> = const { Cell::new(None) };
}

/// Keep the header map of an answered request, emptied, for the next answer built on this
/// thread. hyper keeps each answer's map for the next request's headers on its connection, so
/// a map made for each answer is a map too many: its allocations, and the request's map's
/// frees (~480 instructions per request against ~140 for the clear, callgrind, issue 15).
pub fn recycle_headers(mut headers: HeaderMap) {
    headers.clear();
    SPARE_HEADERS.set(Some(headers));
}

/// [`respond`] with the content type's header value already made.
fn respond_typed(status: StatusCode, content_type: HeaderValue, body: Bytes) -> Response<Bytes> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Some(spare) = SPARE_HEADERS.take() {
        // The response's own map is new: empty, and without an allocation (`HeaderMap::new`
        // does not allocate). Forgotten rather than dropped: the drop's call checks its three
        // buffers (~50 instructions per request, callgrind).
        std::mem::forget(std::mem::replace(r.headers_mut(), spare));
    }
    r.headers_mut().insert(CONTENT_TYPE, content_type);
    r
}

/// The short HTML page of an HTTP error (as nginx in front of a crashed app server sends).
pub fn html_status(status: u16) -> Response<Bytes> {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = format!(
        "{} {}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    respond(code, "text/html; charset=utf-8", body.into())
}

/// A plain-text 404 for paths outside the API and the admin API.
pub fn not_found() -> Response<Bytes> {
    respond_typed(
        StatusCode::NOT_FOUND,
        text_type(),
        Bytes::from_static(b"Not Found\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response<Bytes>) -> String {
        String::from_utf8_lossy(r.body()).into_owned()
    }

    #[test]
    fn every_wrapper_renders_its_documented_shape() {
        let s = Settings::default();
        let q = Quirks::default();
        let r = |w| body(&error("T", w, None, StatusCode::OK, &s, &q));
        assert!(r(Wrapper::Bare).contains("\n<error>T</error>"));
        assert!(r(Wrapper::BareCapital).contains("\n<Error>T</Error>"));
        assert!(r(Wrapper::Status).contains("<status>\n  <error>T</error>\n</status>"));
        assert!(r(Wrapper::PageStatus).contains("<page>\n  <status>\n    <error>T</error>"));
        assert!(r(Wrapper::ResponseMessage).contains("<error>\n    <message>T</message>"));
        assert!(r(Wrapper::Action).starts_with(Declaration::Standalone.as_str()));
        assert!(r(Wrapper::Action).contains("<status>failed</status>"));
        assert_eq!(r(Wrapper::Text), "T");
        assert!(r(Wrapper::Page).starts_with(Declaration::Utf8.as_str()));
    }

    #[test]
    fn the_xml_extension_wraps_xml_in_html() {
        let s = Settings {
            xml_extension: true,
            ..Settings::default()
        };
        let r = error(
            "T",
            Wrapper::Page,
            None,
            StatusCode::OK,
            &s,
            &Quirks::default(),
        );
        assert!(body(&r).starts_with("<html><body><?xml"));
    }

    #[test]
    fn an_answer_in_a_recycled_request_map_carries_none_of_the_request_headers() {
        let mut request = HeaderMap::new();
        request.insert(http::header::HOST, HeaderValue::from_static("127.0.0.1"));
        request.insert("x-token", HeaderValue::from_static("secret"));
        recycle_headers(request);
        let r = not_found();
        assert_eq!(r.headers().len(), 1, "{:?}", r.headers());
        assert_eq!(r.headers()[CONTENT_TYPE], TEXT);
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read as _;
        let z = gzip(b"<page/>");
        let mut out = String::new();
        flate2::read::GzDecoder::new(&z[..])
            .read_to_string(&mut out)
            .expect("gunzip");
        assert_eq!(out, "<page/>");
    }
}
