//! The first stage of the flow: a request path names an API method (`/billing/api/<method>`),
//! an admin endpoint (`/__admin/<endpoint>`) or nothing. Method names are resolved against the
//! catalogue later, in `dispatch`, because whether an alias routes can depend on a quirk
//! (`aggregates_get_alias`).

use model::catalogue::{HttpVerb, Method, ProductCatalogue};
use model::Quirks;

/// The prefix of API paths (M4 API index; the 2008 `/mor/api/` form is not served).
pub const API_PREFIX: &str = "/billing/api/";

/// The prefix of the mock's own admin API.
pub const ADMIN_PREFIX: &str = "/__admin/";

/// Where a path leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// An API method name as written in the path (canonical, alias or unknown).
    Api(&'a str),
    /// An admin endpoint (`health`, `reset`, ...), without the prefix.
    Admin(&'a str),
    /// Anything else: answered 404 in plain text.
    NotFound,
}

/// Route a request path (without the query string).
pub fn route(path: &str) -> Route<'_> {
    if let Some(name) = path.strip_prefix(API_PREFIX) {
        // A trailing slash is tolerated as Rails' router does; nothing deeper is a method.
        let name = name.strip_suffix('/').unwrap_or(name);
        if name.is_empty() || name.contains('/') {
            return Route::NotFound;
        }
        return Route::Api(name);
    }
    if let Some(ep) = path.strip_prefix(ADMIN_PREFIX) {
        return Route::Admin(ep.strip_suffix('/').unwrap_or(ep));
    }
    Route::NotFound
}

/// The catalogue method a path name answers to, honouring the quirks that switch aliases.
pub fn resolve<'c>(
    catalogue: &'c ProductCatalogue,
    quirks: &Quirks,
    name: &str,
) -> Option<&'c Method> {
    resolve_found(catalogue.method(name), quirks, name)
}

/// [`resolve`] of the method `catalogue.method(name)` found (one lookup serves the whole flow).
pub fn resolve_found<'c>(
    found: Option<&'c Method>,
    quirks: &Quirks,
    name: &str,
) -> Option<&'c Method> {
    let method = found?;
    // The M4 index's `aggregates_get` routes only while the quirk says so (CONTRA: the method
    // page and the PHP client use aggregate_get).
    if name == "aggregates_get" && method.name != name && !quirks.aggregates_get_alias {
        return None;
    }
    Some(method)
}

/// The catalogue verb a request's HTTP method counts as: GET is GET, every other verb is treated
/// as POST (Rails routes the API with `match ... via: :all`-like leniency; only GET is gated).
pub fn verb_of(method: &http::Method) -> HttpVerb {
    if method == http::Method::GET {
        HttpVerb::Get
    } else {
        HttpVerb::Post
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::catalogue::{Catalogue, Product};

    #[test]
    fn api_and_admin_paths_are_told_apart() {
        assert_eq!(
            route("/billing/api/quickstats_get"),
            Route::Api("quickstats_get")
        );
        assert_eq!(
            route("/billing/api/quickstats_get/"),
            Route::Api("quickstats_get")
        );
        assert_eq!(route("/billing/api/"), Route::NotFound);
        assert_eq!(route("/billing/api/a/b"), Route::NotFound);
        assert_eq!(route("/__admin/health"), Route::Admin("health"));
        assert_eq!(route("/"), Route::NotFound);
        assert_eq!(route("/mor/api/balance"), Route::NotFound);
    }

    #[test]
    fn aggregates_get_routes_only_with_its_quirk() {
        let c = Catalogue::embedded().product(Product::M4);
        let mut q = Quirks::default();
        assert!(resolve(c, &q, "aggregates_get").is_some());
        q.aggregates_get_alias = false;
        assert!(resolve(c, &q, "aggregates_get").is_none());
        assert!(resolve(c, &q, "aggregate_get").is_some());
    }
}
