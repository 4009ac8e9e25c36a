//! Reading an API answer the way clients do: the error it carries and the wrapper around it.
//! Shared by the runner's checks and the mock's proxy, which judge answers they did not make.

use crate::catalogue::Wrapper;
use crate::xml::Element;

/// The error an XML answer carries (its text), and its wrapper when it is a documented one;
/// `None` for a success answer.
pub fn find_error(root: &Element) -> Option<(String, Option<Wrapper>)> {
    let text_of = |e: &Element| e.text_content().trim().to_string();
    match root.name.as_str() {
        "error" => return Some((text_of(root), Some(Wrapper::Bare))),
        "Error" => return Some((text_of(root), Some(Wrapper::BareCapital))),
        "action" => {
            let failed = root.find("status").is_some_and(|s| text_of(s) == "failed");
            if failed {
                let msg = root
                    .find("status_message")
                    .or_else(|| root.find("message"))
                    .map(text_of)
                    .unwrap_or_default();
                return Some((msg, Some(Wrapper::Action)));
            }
            return None;
        }
        "response" => {
            if let Some(e) = root.find("error") {
                return Some(match e.find("message") {
                    Some(m) => (text_of(m), Some(Wrapper::ResponseMessage)),
                    None => (text_of(e), Some(Wrapper::Response)),
                });
            }
            return None;
        }
        _ => {}
    }
    if let Some(e) = root.find("error") {
        let w = match root.name.as_str() {
            "page" => Some(Wrapper::Page),
            "status" => Some(Wrapper::Status),
            _ => None,
        };
        return Some((text_of(e), w));
    }
    if let Some(e) = root.at("status/error") {
        let w = match root.name.as_str() {
            "status" => None,
            "page" => Some(Wrapper::PageStatus),
            _ => None,
        };
        return Some((text_of(e), w));
    }
    // `<page><page><status><error>` (the doubled nesting the M4 page prints).
    if root.name == "page" {
        if let Some(e) = root.at("page/status/error") {
            return Some((text_of(e), Some(Wrapper::PageStatus)));
        }
        if let Some(e) = root.at("page/error") {
            return Some((text_of(e), Some(Wrapper::Page)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse;

    fn error_of(text: &str) -> Option<(String, Option<Wrapper>)> {
        find_error(&parse(text).expect("xml").root)
    }

    #[test]
    fn every_documented_wrapper_is_read() {
        let bare = error_of("<error>Incorrect hash</error>");
        assert_eq!(bare, Some(("Incorrect hash".into(), Some(Wrapper::Bare))));
        let page = error_of("<page><status><error>Access Denied</error></status></page>");
        assert_eq!(
            page,
            Some(("Access Denied".into(), Some(Wrapper::PageStatus)))
        );
        let action = error_of(
            "<action><status>failed</status><status_message>Bad login</status_message></action>",
        );
        assert_eq!(action, Some(("Bad login".into(), Some(Wrapper::Action))));
        let response = error_of("<response><error>Bad XML data</error></response>");
        assert_eq!(
            response,
            Some(("Bad XML data".into(), Some(Wrapper::Response)))
        );
        assert_eq!(error_of("<page><balance>1</balance></page>"), None);
    }
}
