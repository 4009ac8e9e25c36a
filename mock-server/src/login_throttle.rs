//! The X3 login throttle (quirk `login_throttle: x3`): X3's login action records every attempt
//! (`login` or `bad_login`, with the client's address) before it answers, and a failure answers
//! `Please wait 10 seconds before trying to login again` instead of `Login failed` when the
//! last three attempts from that address, this one included, all failed (GitHub
//! `adeshjohnson/MX3`, `app/controllers/api_controller.rb` C 40-88 and `app/models/action.rb`
//! `Action.disable_login_check`). Nothing is enforced: a right password still logs in.
//!
//! The address is the TCP peer's, as X3 reads `REMOTE_ADDR` (a proxy in front counts as the
//! client). The history keeps the last three attempts of at most [`MAX_CLIENTS`] addresses,
//! forgetting the address first seen when a new one comes; `/__admin/reset` clears it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use model::xml::Element;

use crate::methods::Reply;

/// X3's answer to a login from an address whose last three attempts failed.
pub const WAIT: &str = model::quirks::X3_LOGIN_WAIT;

/// How many attempts per address decide (X3 reads the newest three).
const KEPT: usize = 3;

/// How many addresses the history keeps at most.
pub const MAX_CLIENTS: usize = 4096;

/// The recent login attempts per client address (`None`: a request without a socket).
#[derive(Debug, Default)]
pub struct LoginHistory {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    attempts: HashMap<Option<IpAddr>, VecDeque<bool>>,
    seen: VecDeque<Option<IpAddr>>,
}

impl LoginHistory {
    /// Record an attempt of `client` (`true`: logged in) and tell whether the last three
    /// attempts from it, this one included, all failed.
    pub fn record(&self, client: Option<IpAddr>, success: bool) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Inner { attempts, seen } = &mut *g;
        if !attempts.contains_key(&client) {
            if seen.len() >= MAX_CLIENTS {
                if let Some(oldest) = seen.pop_front() {
                    attempts.remove(&oldest);
                }
            }
            seen.push_back(client);
        }
        let h = attempts.entry(client).or_default();
        h.push_back(success);
        while h.len() > KEPT {
            h.pop_front();
        }
        h.len() == KEPT && h.iter().all(|ok| !ok)
    }

    /// Forget every attempt.
    pub fn clear(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *g = Inner::default();
    }

    /// How many addresses are remembered.
    pub fn clients(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .attempts
            .len()
    }
}

/// The user_login `reply` once X3's throttle has seen it: the attempt recorded for `client`,
/// and a failure's message replaced by [`WAIT`] when the last three attempts failed (X3 always
/// writes a `status_message` on failure, also with the login redirect on).
pub fn apply(reply: Reply, client: Option<IpAddr>, history: &LoginHistory) -> Reply {
    let success = match &reply {
        Reply::Redirect(_) => true,
        Reply::Action(doc) => {
            doc.root.find("status").map(Element::text_content) == Some("ok".into())
        }
        _ => false,
    };
    let wait = history.record(client, success);
    match reply {
        Reply::Action(mut doc) if !success => {
            let message = if wait { WAIT } else { "Login failed" };
            doc.root.children.retain(
                |c| !matches!(c, model::xml::Node::Element(e) if e.name == "status_message"),
            );
            doc.root.push_leaf("status_message", message);
            Reply::Action(doc)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_failures_in_a_row_from_one_address_answer_wait() {
        let h = LoginHistory::default();
        let a: Option<IpAddr> = Some([10, 0, 0, 1].into());
        let b: Option<IpAddr> = Some([10, 0, 0, 2].into());
        assert!(!h.record(a, false));
        assert!(!h.record(a, false));
        assert!(!h.record(b, false), "another address has its own history");
        assert!(h.record(a, false));
        assert!(h.record(a, false));
        assert!(!h.record(a, true), "a success");
        assert!(!h.record(a, false), "a success among the last three");
        assert!(!h.record(a, false));
        assert!(h.record(a, false));
    }

    #[test]
    fn the_history_is_bounded() {
        let h = LoginHistory::default();
        for i in 0..(MAX_CLIENTS as u32 + 100) {
            h.record(Some(IpAddr::from(i.to_be_bytes())), false);
        }
        assert_eq!(h.clients(), MAX_CLIENTS);
    }
}
