//! Routes and how a request finds its own. A route is a method, a path
//! pattern (`{name}` matches one non-empty segment, read by name), the
//! service and access it has, and its handler. The table itself is built in
//! `crate::api` from the declarations and the few special routes. Confd
//! routes need the ACL named by their path (see `auth::acl::required_for`).

use crate::auth::Gate;
use crate::error::{ApiError, ApiResult};
use crate::handler::{Ctx, Handler};
use crate::http::{Media, Method};
use crate::resources::association::{Association, AssociationOp};
use crate::resources::resource::{Op, Resource};
use crate::resources::sub_object::{SubObject, SubObjectOp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// xivo-confd 1.1, on the HTTP and HTTPS listeners
    Confd,
    /// xivo-auth 0.1, on the token API listener
    Auth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// no authentication (the token API checks its own credentials)
    Public,
    /// the ACL derived from the path and method
    Acl,
    /// a monitoring scrape (`/metrics`): the ACL named here, whatever the
    /// path; the token may also come as `Authorization: Bearer`, which a
    /// stock Prometheus sends
    Scrape(&'static str),
}

/// Which API a listener serves.
pub fn service_of(kind: crate::http::ListenerKind) -> Service {
    match kind {
        crate::http::ListenerKind::Auth => Service::Auth,
        crate::http::ListenerKind::Http | crate::http::ListenerKind::Https => Service::Confd,
    }
}

/// What a route answers, for the `Accept` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    /// JSON: a client whose `Accept` excludes it gets 406
    Json,
    /// a page, script or style of the API console: a browser asks for
    /// HTML (or anything), and is served whatever its `Accept`
    Document,
    /// another type (a CSV export): served to an `Accept` naming one of
    /// its ranges, or to none; 406 otherwise (its errors are still JSON)
    Media(&'static Media),
    /// Server-Sent Events (`text/event-stream`): served only to a client
    /// whose `Accept` names it, since the answer never ends
    EventStream,
}

/// What a route's request body may be, for the `Content-Type` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumes {
    /// JSON: any other declared type is a 415
    Json,
    /// another type (a CSV import): a body of any other type is a 415
    Media(&'static Media),
}

/// A token API handler: it manages the credentials, so it gets the gate.
pub type AuthHandler = fn(&mut Ctx, &mut Gate) -> ApiResult<crate::http::ApiResponse>;

#[derive(Clone, Copy)]
pub enum RouteHandler {
    Confd(Handler),
    /// the token API's handlers, which manage credentials
    Auth(AuthHandler),
}

/// The declaration a route was made from, for the API description.
#[derive(Clone, Copy)]
pub enum Declared {
    Resource(&'static Resource, Op),
    Association(&'static Association, AssociationOp),
    SubObject(&'static SubObject, SubObjectOp),
}

#[derive(Clone)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub service: Service,
    pub access: Access,
    pub produces: Produces,
    pub consumes: Consumes,
    pub handler: RouteHandler,
    pub declared: Option<Declared>,
}

impl Route {
    /// A confd route needing the ACL of its path.
    pub fn confd(method: Method, path: &'static str, handler: Handler) -> Route {
        Route {
            method,
            path,
            service: Service::Confd,
            access: Access::Acl,
            produces: Produces::Json,
            consumes: Consumes::Json,
            handler: RouteHandler::Confd(handler),
            declared: None,
        }
    }

    /// A confd route open to everyone (the API description, as in the reference).
    pub fn confd_public(method: Method, path: &'static str, handler: Handler) -> Route {
        Route {
            access: Access::Public,
            ..Route::confd(method, path, handler)
        }
    }

    /// A page or file of the API console: public, and not JSON.
    pub fn console(service: Service, path: &'static str, handler: Handler) -> Route {
        Route {
            service,
            access: Access::Public,
            produces: Produces::Document,
            ..Route::confd(Method::Get, path, handler)
        }
    }

    /// A route for monitoring scrapes on `service`'s listeners: it needs
    /// `acl`, from a token sent either way, and answers `media`.
    pub fn scrape(
        service: Service,
        path: &'static str,
        acl: &'static str,
        media: &'static Media,
        handler: Handler,
    ) -> Route {
        Route {
            service,
            access: Access::Scrape(acl),
            produces: Produces::Media(media),
            ..Route::confd(Method::Get, path, handler)
        }
    }

    /// A confd route answering `media` instead of JSON (an export).
    pub fn answering(mut self, media: &'static Media) -> Route {
        self.produces = Produces::Media(media);
        self
    }

    /// A confd route taking a body of `media` instead of JSON (an import).
    pub fn taking(mut self, media: &'static Media) -> Route {
        self.consumes = Consumes::Media(media);
        self
    }

    /// A token API route: it checks its own credentials.
    pub fn auth(method: Method, path: &'static str, handler: AuthHandler) -> Route {
        Route {
            method,
            path,
            service: Service::Auth,
            access: Access::Public,
            produces: Produces::Json,
            consumes: Consumes::Json,
            handler: RouteHandler::Auth(handler),
            declared: None,
        }
    }

    /// The `{name}`s of its pattern, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|word| word.strip_prefix('{')?.strip_suffix('}'))
    }
}

/// Path parameters: (name in the pattern, segment of the path).
pub type Params<'p> = Vec<(&'static str, &'p str)>;

/// The route serving `method path` for `service`, with the captured segments.
pub fn find<'p>(
    routes: &'static [Route],
    service: Service,
    method: Method,
    path: &'p str,
) -> ApiResult<(&'static Route, Params<'p>)> {
    let index = RouteIndex::of(routes);
    let candidates = index.candidates(service, path);
    // The most specific pattern matching the path wins: at the first segment
    // where two differ, a literal beats a parameter (`/users/import` before
    // `/users/{user}`), whatever their order in the table.
    let mut best: Option<(&'static str, Params<'p>)> = None;
    for route in candidates.clone() {
        let Some(params) = match_path(route.path, path) else {
            continue;
        };
        if best
            .as_ref()
            .is_none_or(|(pattern, _)| more_specific(route.path, pattern))
        {
            best = Some((route.path, params));
        }
    }
    let Some((pattern, params)) = best else {
        return Err(ApiError::NoRoute);
    };
    // the routes of the same pattern are all among the candidates
    let route = of_method(candidates.filter(move |r| r.path == pattern), method)?;
    Ok((route, params))
}

/// The route of `method` among the routes of one pattern, or a 405 with
/// the methods they have. HEAD is answered as GET where no HEAD route is
/// declared.
fn of_method(
    same_path: impl Iterator<Item = &'static Route> + Clone,
    method: Method,
) -> ApiResult<&'static Route> {
    let found = same_path
        .clone()
        .find(|r| r.method == method)
        .or_else(|| match method {
            Method::Head => same_path.clone().find(|r| r.method == Method::Get),
            _ => None,
        });
    if let Some(route) = found {
        return Ok(route);
    }
    let mut allowed: Vec<&'static str> = same_path.map(|r| r.method.as_str()).collect();
    if allowed.contains(&"GET") && !allowed.contains(&"HEAD") {
        allowed.push("HEAD");
    }
    Err(ApiError::MethodNotAllowed(allowed))
}

/// The segment of a path that narrows the routes down: the third
/// (`/1.1/users/...` -> `users`).
const KEY_SEGMENT: usize = 2;

/// The routes of a table grouped by what a path can match cheaply: service,
/// number of segments, and the key segment (a literal; patterns with a
/// parameter there go with every path of their length). Looking a path up
/// compares it with a handful of patterns, not the whole table.
#[derive(Clone)]
struct RouteIndex {
    routes: &'static [Route],
    /// (service, segments) -> key segment -> positions in `routes`
    literal: std::collections::HashMap<
        (Service, usize),
        std::collections::HashMap<&'static str, Vec<usize>>,
    >,
    /// (service, segments) -> positions of patterns with a parameter at the key
    any: std::collections::HashMap<(Service, usize), Vec<usize>>,
}

impl RouteIndex {
    fn build(routes: &'static [Route]) -> RouteIndex {
        let mut index = RouteIndex {
            routes,
            literal: Default::default(),
            any: Default::default(),
        };
        for (position, route) in routes.iter().enumerate() {
            let segments = route.path.split('/').count();
            match route.path.split('/').nth(KEY_SEGMENT) {
                Some(key) if !key.starts_with('{') => index
                    .literal
                    .entry((route.service, segments))
                    .or_default()
                    .entry(key)
                    .or_default()
                    .push(position),
                _ => index
                    .any
                    .entry((route.service, segments))
                    .or_default()
                    .push(position),
            }
        }
        index
    }

    /// The index of the first table looked in (the server has one), made
    /// once; another table gets its own, made on each call.
    fn of(routes: &'static [Route]) -> std::borrow::Cow<'static, RouteIndex> {
        static INDEX: std::sync::OnceLock<RouteIndex> = std::sync::OnceLock::new();
        let server = INDEX.get_or_init(|| RouteIndex::build(routes));
        if std::ptr::eq(server.routes, routes) {
            std::borrow::Cow::Borrowed(server)
        } else {
            std::borrow::Cow::Owned(RouteIndex::build(routes))
        }
    }

    /// Every route of `service` that could match `path`.
    fn candidates<'i>(
        &'i self,
        service: Service,
        path: &str,
    ) -> impl Iterator<Item = &'static Route> + Clone + 'i {
        let segments = path.split('/').count();
        let key = path.split('/').nth(KEY_SEGMENT).unwrap_or_default();
        let literal = self
            .literal
            .get(&(service, segments))
            .and_then(|keys| keys.get(key))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let any = self
            .any
            .get(&(service, segments))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let routes = self.routes;
        literal.iter().chain(any).map(move |&i| &routes[i])
    }
}

/// Whether `pattern` has a literal where `other` has its first parameter
/// that `pattern` does not share (both matching the same path).
fn more_specific(pattern: &str, other: &str) -> bool {
    let is_param = |segment: &str| segment.starts_with('{');
    for (mine, theirs) in pattern.split('/').zip(other.split('/')) {
        match (is_param(mine), is_param(theirs)) {
            (false, true) => return true,
            (true, false) => return false,
            _ => {}
        }
    }
    false
}

fn match_path<'p>(pattern: &'static str, path: &'p str) -> Option<Params<'p>> {
    let mut params = Vec::new();
    let mut pattern_parts = pattern.split('/');
    let mut path_parts = path.split('/');
    loop {
        match (pattern_parts.next(), path_parts.next()) {
            (None, None) => return Some(params),
            (Some(expected), Some(actual)) => {
                if let Some(name) = expected.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    if actual.is_empty() {
                        return None;
                    }
                    params.push((name, actual));
                } else if expected != actual {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// The words of a confd path that name its ACL: `/1.1/users/7` -> users, 7.
pub fn acl_words(path: &str) -> Vec<&str> {
    path.split('/')
        .filter(|word| !word.is_empty())
        .skip(1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::table;

    /// What `find` answered before its index: every route of the table
    /// tried in turn.
    fn find_by_scan<'p>(
        routes: &'static [Route],
        service: Service,
        method: Method,
        path: &'p str,
    ) -> ApiResult<(&'static Route, Params<'p>)> {
        let mut best: Option<(&'static str, Params<'p>)> = None;
        for route in routes.iter().filter(|r| r.service == service) {
            let Some(params) = match_path(route.path, path) else {
                continue;
            };
            if best
                .as_ref()
                .is_none_or(|(pattern, _)| more_specific(route.path, pattern))
            {
                best = Some((route.path, params));
            }
        }
        let Some((pattern, params)) = best else {
            return Err(ApiError::NoRoute);
        };
        let same_path = routes
            .iter()
            .filter(move |r| r.service == service && r.path == pattern);
        Ok((of_method(same_path, method)?, params))
    }

    fn outcome(found: ApiResult<(&'static Route, Params)>) -> String {
        match found {
            Ok((route, params)) => format!("{:?} {} {params:?}", route.method, route.path),
            Err(ApiError::MethodNotAllowed(allowed)) => format!("405 {allowed:?}"),
            Err(error) => format!("{}", error.status()),
        }
    }

    /// The index answers what trying every route answers: for every
    /// pattern filled in several ways, neighbours of it, and paths no
    /// pattern has, with every method, on both services.
    #[test]
    fn the_index_finds_what_a_scan_of_the_table_finds() {
        let mut paths: Vec<String> = vec![
            "/".into(),
            "".into(),
            "/1.1".into(),
            "/1.1/".into(),
            "/1.1/nothing".into(),
            "/1.1/users/".into(),
            "//users".into(),
            "/0.1/token".into(),
            "/api/api.yml".into(),
        ];
        for route in table() {
            for filler in ["7", "import", "users", "{x}", ""] {
                let concrete: Vec<String> = route
                    .path
                    .split('/')
                    .map(|part| {
                        if part.starts_with('{') {
                            filler.to_string()
                        } else {
                            part.to_string()
                        }
                    })
                    .collect();
                paths.push(concrete.join("/"));
                paths.push(format!("{}/more", concrete.join("/")));
                paths.push(concrete[..concrete.len() - 1].join("/"));
            }
        }
        let methods = [
            Method::Get,
            Method::Head,
            Method::Post,
            Method::Put,
            Method::Delete,
            Method::Other,
        ];
        let mut found = 0;
        for path in &paths {
            for service in [Service::Confd, Service::Auth] {
                for method in methods {
                    let indexed = outcome(find(table(), service, method, path));
                    let scanned = outcome(find_by_scan(table(), service, method, path));
                    assert_eq!(indexed, scanned, "{service:?} {method:?} {path:?}");
                    found += usize::from(indexed.starts_with(|c: char| c.is_alphabetic()));
                }
            }
        }
        assert!(found > table().len(), "most routes were found: {found}");
    }

    #[test]
    fn patterns_capture_segments() {
        let (route, params) =
            find(table(), Service::Confd, Method::Get, "/1.1/users/42").expect("found");
        assert_eq!(route.path, "/1.1/users/{user}");
        assert_eq!(params, vec![("user", "42")]);
        assert!(matches!(
            find(table(), Service::Confd, Method::Get, "/1.1/users/"),
            Err(ApiError::NoRoute)
        ));
        assert!(matches!(
            find(table(), Service::Confd, Method::Get, "/1.1/nothing"),
            Err(ApiError::NoRoute)
        ));
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        match find(table(), Service::Confd, Method::Delete, "/1.1/users") {
            Err(ApiError::MethodNotAllowed(allowed)) => {
                assert_eq!(allowed, vec!["GET", "POST", "HEAD"]);
            }
            _ => panic!("expected 405"),
        }
    }

    /// A literal segment wins over a parameter, whichever route comes
    /// first in the table.
    #[test]
    fn literal_segments_win_over_parameters() {
        let routes: &'static [Route] = Box::leak(Box::new([
            Route::confd(Method::Get, "/1.1/things/{thing}", &|_| {
                Ok(crate::http::ApiResponse::no_content())
            }),
            Route::confd(Method::Put, "/1.1/things/{thing}", &|_| {
                Ok(crate::http::ApiResponse::no_content())
            }),
            Route::confd(Method::Post, "/1.1/things/import", &|_| {
                Ok(crate::http::ApiResponse::no_content())
            }),
        ]));
        let (route, params) =
            find(routes, Service::Confd, Method::Post, "/1.1/things/import").expect("found");
        assert_eq!(route.path, "/1.1/things/import");
        assert!(params.is_empty());
        // the literal's own methods only: no PUT or GET of a thing called "import"
        match find(routes, Service::Confd, Method::Get, "/1.1/things/import") {
            Err(ApiError::MethodNotAllowed(allowed)) => assert_eq!(allowed, vec!["POST"]),
            _ => panic!("expected 405"),
        }
        let (route, _) = find(routes, Service::Confd, Method::Put, "/1.1/things/7").expect("found");
        assert_eq!(route.path, "/1.1/things/{thing}");
        assert!(more_specific("/a/{b}/c", "/a/{b}/{d}"));
        assert!(!more_specific("/a/{b}/{d}", "/a/{b}/c"));
        assert!(!more_specific("/a/{b}", "/a/{c}"));
    }

    /// `/users/import` and `/users/export` are the users CSV's, never a
    /// user called "import": the literal wins whatever the table's order.
    #[test]
    fn the_users_csv_routes_are_not_users() {
        for (method, path) in [
            (Method::Post, "/1.1/users/import"),
            (Method::Put, "/1.1/users/import"),
            (Method::Get, "/1.1/users/export"),
        ] {
            let (route, params) = find(table(), Service::Confd, method, path).expect("found");
            assert_eq!(route.path, path);
            assert!(params.is_empty());
        }
        match find(table(), Service::Confd, Method::Get, "/1.1/users/import") {
            Err(ApiError::MethodNotAllowed(allowed)) => assert_eq!(allowed, vec!["POST", "PUT"]),
            _ => panic!("expected 405"),
        }
        match find(table(), Service::Confd, Method::Delete, "/1.1/users/export") {
            Err(ApiError::MethodNotAllowed(allowed)) => assert_eq!(allowed, vec!["GET", "HEAD"]),
            _ => panic!("expected 405"),
        }
    }

    #[test]
    fn services_do_not_mix() {
        assert!(find(table(), Service::Confd, Method::Post, "/0.1/token").is_err());
        assert!(find(table(), Service::Auth, Method::Get, "/1.1/users").is_err());
        assert!(find(table(), Service::Auth, Method::Head, "/0.1/token/x").is_ok());
    }

    #[test]
    fn acl_words_drop_the_version() {
        assert_eq!(acl_words("/1.1/users/7"), vec!["users", "7"]);
    }
}
