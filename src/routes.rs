//! The one route table: method, path pattern, service, access, handler.
//! `{name}` in a pattern matches one non-empty path segment. Confd routes
//! need the ACL named by their path (see `auth::acl::required_for`).

use crate::auth::api as token_api;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiResponse, Method};
use crate::openapi;
use crate::resources::{Ctx, contexts, endpoints, extensions, infos, lines, user_lines, users};

pub type Handler = fn(&mut Ctx) -> ApiResult<ApiResponse>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

/// What a route answers, for the `Accept` check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    /// JSON: a client whose `Accept` excludes it gets 406
    Json,
    /// a page, script or style of the API console: a browser asks for
    /// HTML (or anything), and is served whatever its `Accept`
    Document,
}

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub service: Service,
    pub access: Access,
    pub produces: Produces,
    pub handler: Handler,
}

const fn confd(method: Method, path: &'static str, handler: Handler) -> Route {
    Route {
        method,
        path,
        service: Service::Confd,
        access: Access::Acl,
        produces: Produces::Json,
        handler,
    }
}

/// A confd route open to everyone (the API description, as in the reference).
const fn confd_public(method: Method, path: &'static str, handler: Handler) -> Route {
    Route {
        method,
        path,
        service: Service::Confd,
        access: Access::Public,
        produces: Produces::Json,
        handler,
    }
}

/// A page or file of the API console: public, and not JSON.
const fn console(service: Service, path: &'static str, handler: Handler) -> Route {
    Route {
        method: Method::Get,
        path,
        service,
        access: Access::Public,
        produces: Produces::Document,
        handler,
    }
}

const fn auth(method: Method, path: &'static str, handler: Handler) -> Route {
    Route {
        method,
        path,
        service: Service::Auth,
        access: Access::Public,
        produces: Produces::Json,
        handler,
    }
}

use Method::{Delete, Get, Head, Post, Put};

pub static ROUTES: &[Route] = &[
    confd(Get, "/1.1/infos", infos::get),
    confd(Get, "/1.1/users", users::list),
    confd(Post, "/1.1/users", users::create),
    confd(Get, "/1.1/users/{user}", users::get),
    confd(Put, "/1.1/users/{user}", users::edit),
    confd(Delete, "/1.1/users/{user}", users::delete),
    confd(Get, "/1.1/users/{user}/lines", user_lines::lines_of_user),
    confd(Post, "/1.1/users/{user}/lines", user_lines::associate),
    confd(
        Delete,
        "/1.1/users/{user}/lines/{line}",
        user_lines::dissociate,
    ),
    confd(Get, "/1.1/contexts", contexts::list),
    confd(Post, "/1.1/contexts", contexts::create),
    confd(Get, "/1.1/contexts/{context}", contexts::get),
    confd(Put, "/1.1/contexts/{context}", contexts::edit),
    confd(Delete, "/1.1/contexts/{context}", contexts::delete),
    confd(Get, "/1.1/lines", lines::list),
    confd(Post, "/1.1/lines", lines::create),
    confd(Get, "/1.1/lines/{line}", lines::get),
    confd(Put, "/1.1/lines/{line}", lines::edit),
    confd(Delete, "/1.1/lines/{line}", lines::delete),
    confd(Get, "/1.1/lines/{line}/users", user_lines::users_of_line),
    confd(Get, "/1.1/lines/{line}/endpoints/sip", lines::sip_of_line),
    confd(
        Put,
        "/1.1/lines/{line}/endpoints/sip/{sip}",
        lines::associate_sip,
    ),
    confd(
        Delete,
        "/1.1/lines/{line}/endpoints/sip/{sip}",
        lines::dissociate_sip,
    ),
    confd(Get, "/1.1/lines/{line}/endpoints/sccp", lines::sccp_of_line),
    confd(
        Put,
        "/1.1/lines/{line}/endpoints/sccp/{sccp}",
        lines::associate_sccp,
    ),
    confd(
        Delete,
        "/1.1/lines/{line}/endpoints/sccp/{sccp}",
        lines::dissociate_sccp,
    ),
    confd(
        Get,
        "/1.1/lines/{line}/extensions",
        extensions::list_of_line,
    ),
    confd(
        Post,
        "/1.1/lines/{line}/extensions",
        extensions::associate_with_line,
    ),
    confd(
        Delete,
        "/1.1/lines/{line}/extensions/{extension}",
        extensions::dissociate_from_line,
    ),
    confd(Get, "/1.1/lines/{line}/extension", extensions::legacy_get),
    confd(
        Post,
        "/1.1/lines/{line}/extension",
        extensions::legacy_associate,
    ),
    confd(
        Delete,
        "/1.1/lines/{line}/extension",
        extensions::legacy_dissociate,
    ),
    confd(Get, "/1.1/lines_sip", lines::sip_lines_list),
    confd(Post, "/1.1/lines_sip", lines::sip_line_create),
    confd(Get, "/1.1/lines_sip/{line}", lines::sip_line_get),
    confd(Put, "/1.1/lines_sip/{line}", lines::sip_line_edit),
    confd(Delete, "/1.1/lines_sip/{line}", lines::sip_line_delete),
    confd(Get, "/1.1/endpoints/sip", endpoints::sip_list),
    confd(Post, "/1.1/endpoints/sip", endpoints::sip_create),
    confd(Get, "/1.1/endpoints/sip/{sip}", endpoints::sip_get),
    confd(Put, "/1.1/endpoints/sip/{sip}", endpoints::sip_edit),
    confd(Delete, "/1.1/endpoints/sip/{sip}", endpoints::sip_delete),
    confd(Get, "/1.1/endpoints/sip/{sip}/lines", lines::line_of_sip),
    confd(Get, "/1.1/endpoints/sccp", endpoints::sccp_list),
    confd(Post, "/1.1/endpoints/sccp", endpoints::sccp_create),
    confd(Get, "/1.1/endpoints/sccp/{sccp}", endpoints::sccp_get),
    confd(Put, "/1.1/endpoints/sccp/{sccp}", endpoints::sccp_edit),
    confd(Delete, "/1.1/endpoints/sccp/{sccp}", endpoints::sccp_delete),
    confd(Get, "/1.1/endpoints/sccp/{sccp}/lines", lines::line_of_sccp),
    confd(Get, "/1.1/extensions", extensions::list),
    confd(Post, "/1.1/extensions", extensions::create),
    confd(Get, "/1.1/extensions/{extension}", extensions::get),
    confd(Put, "/1.1/extensions/{extension}", extensions::edit),
    confd(Delete, "/1.1/extensions/{extension}", extensions::delete),
    confd(
        Get,
        "/1.1/extensions/{extension}/line",
        extensions::line_of_extension,
    ),
    auth(Post, "/0.1/token", token_api::create),
    auth(Get, "/0.1/token/{token}", token_api::check),
    auth(Head, "/0.1/token/{token}", token_api::check),
    auth(Delete, "/0.1/token/{token}", token_api::revoke),
    auth(Get, "/0.1/backends", token_api::backends),
    // the API described (src/openapi/docs.rs), and its console on each listener
    confd_public(Get, "/1.1/api/api.json", openapi::confd_spec),
    auth(Get, "/0.1/api/api.json", openapi::auth_spec),
    console(Service::Confd, "/api", openapi::console::redirect),
    console(Service::Confd, "/api/", openapi::console::page),
    console(Service::Confd, "/api/{file}", openapi::console::file),
    console(Service::Auth, "/api", openapi::console::redirect),
    console(Service::Auth, "/api/", openapi::console::page),
    console(Service::Auth, "/api/{file}", openapi::console::file),
];

/// The route serving `method path` for `service`, with the captured segments.
pub fn find(
    service: Service,
    method: Method,
    path: &str,
) -> ApiResult<(&'static Route, Vec<&str>)> {
    let mut allowed: Vec<&'static str> = Vec::new();
    for route in ROUTES.iter().filter(|r| r.service == service) {
        let Some(params) = match_path(route.path, path) else {
            continue;
        };
        // HEAD is answered as GET where no HEAD route is declared
        let method_matches = route.method == method
            || (method == Method::Head
                && route.method == Method::Get
                && !ROUTES
                    .iter()
                    .any(|r| r.method == Method::Head && r.path == route.path));
        if method_matches {
            return Ok((route, params));
        }
        allowed.push(route.method.as_str());
    }
    if allowed.is_empty() {
        Err(ApiError::NoRoute)
    } else {
        if allowed.contains(&"GET") && !allowed.contains(&"HEAD") {
            allowed.push("HEAD");
        }
        Err(ApiError::MethodNotAllowed(allowed))
    }
}

fn match_path<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut params = Vec::new();
    let mut pattern_parts = pattern.split('/');
    let mut path_parts = path.split('/');
    loop {
        match (pattern_parts.next(), path_parts.next()) {
            (None, None) => return Some(params),
            (Some(expected), Some(actual)) => {
                if expected.starts_with('{') {
                    if actual.is_empty() {
                        return None;
                    }
                    params.push(actual);
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

    #[test]
    fn patterns_capture_segments() {
        let (route, params) = find(Service::Confd, Method::Get, "/1.1/users/42").expect("found");
        assert_eq!(route.path, "/1.1/users/{user}");
        assert_eq!(params, vec!["42"]);
        assert!(matches!(
            find(Service::Confd, Method::Get, "/1.1/users/"),
            Err(ApiError::NoRoute)
        ));
        assert!(matches!(
            find(Service::Confd, Method::Get, "/1.1/nothing"),
            Err(ApiError::NoRoute)
        ));
    }

    #[test]
    fn wrong_method_lists_the_allowed_ones() {
        match find(Service::Confd, Method::Delete, "/1.1/users") {
            Err(ApiError::MethodNotAllowed(allowed)) => {
                assert_eq!(allowed, vec!["GET", "POST", "HEAD"]);
            }
            _ => panic!("expected 405"),
        }
    }

    #[test]
    fn services_do_not_mix() {
        assert!(find(Service::Confd, Method::Post, "/0.1/token").is_err());
        assert!(find(Service::Auth, Method::Get, "/1.1/users").is_err());
        assert!(find(Service::Auth, Method::Head, "/0.1/token/x").is_ok());
    }

    #[test]
    fn acl_words_drop_the_version() {
        assert_eq!(acl_words("/1.1/users/7"), vec!["users", "7"]);
    }
}
