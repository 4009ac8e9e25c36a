//! X3's delivery of answers (quirk `answer_delivery: x3`): the X3 controller hands every answer
//! to `send_xml_data` (GitHub `adeshjohnson/MX3`, `app/controllers/api_controller.rb`
//! C 4232-4258), which
//!
//! - with `test=1` (Ruby's `to_i`, so `1x` counts) renders the text inline: Rails' `render
//!   :text`, `text/html; charset=utf-8`;
//! - otherwise sends it as a file download (Rails' `send_data`: `Content-Disposition:
//!   attachment`, `Content-Transfer-Encoding: binary`, no charset): `text/xml` named
//!   `mor_api_response.xml` when the setting XML API Extension (`xml_extension`) is on, else
//!   `text/html` named `mor_api_response.html`; the XML is never wrapped in HTML;
//! - for get_tariff (the one caller asking for a zip, C 1015-1178) writes the XML to
//!   `/tmp/get_tariff_<unix time>.xml`, zips it with the `zip` command and sends the archive as
//!   `application/zip` under the file name `/tmp/get_tariff_<unix time>.xml.zip` (the path as
//!   given to `send_data`). The filters' errors (API disabled, GET disabled, Incorrect hash) of
//!   get_tariff are sent before the action runs, as downloads, not zipped.
//!
//! simple_balance always renders its text inline and balance forces the test mode (C
//! 1675-1713): both are inline whatever `test` says. Redirects and HTTP errors are left alone.

use std::io::Write as _;

use bytes::Bytes;
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Response, StatusCode};
use model::params::Params;
use model::Settings;

use crate::methods::ruby_to_i;

/// The content type of Rails' `render :text`.
pub const INLINE: &str = "text/html; charset=utf-8";
/// The content type of X3's zipped get_tariff.
pub const ZIP: &str = "application/zip";

/// Methods (canonical names) X3 always answers inline.
const ALWAYS_INLINE: [&str; 2] = ["user_simple_balance_get", "user_balance_get"];

/// The answer of `method` (None: a name naming no method) as X3 sends it. `zip`: the answer
/// came from get_tariff's action (not from a filter), to be zipped unless `test=1`; `now` names
/// the zip file.
pub fn x3(
    mut response: Response<Bytes>,
    method: Option<&str>,
    zip: bool,
    params: &Params,
    settings: &Settings,
    now: i64,
) -> Response<Bytes> {
    if response.status() != StatusCode::OK {
        return response;
    }
    let test = params.get("test").is_some_and(|t| ruby_to_i(t) == 1);
    let headers = response.headers_mut();
    if test || method.is_some_and(|m| ALWAYS_INLINE.contains(&m)) {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(INLINE));
        headers.remove(CONTENT_DISPOSITION);
        return response;
    }
    if zip {
        let entry = format!("get_tariff_{now}.xml");
        if let Some(archive) = zip_one(&entry, response.body()) {
            let mut r = Response::new(Bytes::from(archive));
            download(&mut r, ZIP, &format!("/tmp/{entry}.zip"));
            return r;
        }
        tracing::error!("zipping get_tariff's answer failed; sent as a download");
    }
    let (ct, name) = if settings.xml_extension {
        ("text/xml", "mor_api_response.xml")
    } else {
        ("text/html", "mor_api_response.html")
    };
    download(&mut response, ct, name);
    response
}

/// Rails' `send_data` headers: the type, an attachment with its file name, binary transfer.
fn download(r: &mut Response<Bytes>, content_type: &'static str, file_name: &str) {
    let headers = r.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    headers.insert(
        HeaderName::from_static("content-transfer-encoding"),
        HeaderValue::from_static("binary"),
    );
}

/// A zip archive holding one deflated file `name` with `data` (what `zip NAME.zip NAME` makes).
pub fn zip_one(name: &str, data: &[u8]) -> Option<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(
        data.len() / 4 + 256,
    )));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, options).ok()?;
    w.write_all(data).ok()?;
    Some(w.finish().ok()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn xml() -> Response<Bytes> {
        crate::render::respond(
            StatusCode::OK,
            crate::render::XML,
            Bytes::from_static(b"<page/>"),
        )
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        let mut p = Params::new();
        for (k, v) in pairs {
            p.push(*k, *v);
        }
        p
    }

    fn header(r: &Response<Bytes>, name: &str) -> String {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }

    #[test]
    fn an_answer_is_a_download_unless_test_is_1() {
        let s = Settings::default();
        let r = x3(xml(), Some("devices_get"), false, &params(&[]), &s, 0);
        assert_eq!(header(&r, "content-type"), "text/html");
        assert_eq!(
            header(&r, "content-disposition"),
            "attachment; filename=\"mor_api_response.html\""
        );
        assert_eq!(header(&r, "content-transfer-encoding"), "binary");
        assert_eq!(r.body().as_ref(), b"<page/>");
        let ext = Settings {
            xml_extension: true,
            ..Settings::default()
        };
        let r = x3(xml(), None, false, &params(&[]), &ext, 0);
        assert_eq!(header(&r, "content-type"), "text/xml");
        assert!(header(&r, "content-disposition").contains("mor_api_response.xml"));
        for t in ["1", "1x"] {
            let r = x3(
                xml(),
                Some("tariff_rates_get"),
                true,
                &params(&[("test", t)]),
                &s,
                0,
            );
            assert_eq!(header(&r, "content-type"), INLINE);
            assert_eq!(header(&r, "content-disposition"), "");
            assert_eq!(r.body().as_ref(), b"<page/>");
        }
        let r = x3(xml(), Some("user_balance_get"), false, &params(&[]), &s, 0);
        assert_eq!(header(&r, "content-type"), INLINE);
    }

    #[test]
    fn get_tariff_is_a_zip_archive_of_one_xml_file() {
        let s = Settings::default();
        let r = x3(
            xml(),
            Some("tariff_rates_get"),
            true,
            &params(&[]),
            &s,
            1_795_444_200,
        );
        assert_eq!(header(&r, "content-type"), ZIP);
        assert_eq!(
            header(&r, "content-disposition"),
            "attachment; filename=\"/tmp/get_tariff_1795444200.xml.zip\""
        );
        let mut archive =
            zip::ZipArchive::new(std::io::Cursor::new(r.body().to_vec())).expect("a zip archive");
        assert_eq!(archive.len(), 1);
        let mut f = archive.by_index(0).expect("one file");
        assert_eq!(f.name(), "get_tariff_1795444200.xml");
        let mut out = String::new();
        f.read_to_string(&mut out).expect("inflates");
        assert_eq!(out, "<page/>");
    }
}
