//! The product's route table: the routes of every declared resource and
//! association (`resources::RESOURCES`, `resources::ASSOCIATIONS`), plus the
//! few routes that really are special (infos, the legacy singular
//! line-extension routes, function keys by position, a device's actions,
//! the token API, the API
//! description and its console). Built once; `docs/routes.txt` lists it for
//! review, and a test holds the two together.

use crate::auth::api as token_api;
use crate::handler::{Ctx, Handler};
use crate::http::Method::{self, Delete, Get, Head, Post, Put};
use crate::metrics;
use crate::openapi;
use crate::resources::association::{Association, AssociationOp, Reverse, Shape};
use crate::resources::resource::{Op, Resource};
use crate::resources::sub_object::{SubObject, SubObjectOp};
use crate::resources::{
    ASSOCIATIONS, RESOURCES, SUB_OBJECTS, call_logs, callfilters, configuration, devices,
    extensions, funckeys, infos, user_import, webhooks,
};
use crate::routes::{Declared, Route, Service};
use std::sync::OnceLock;

/// Every route, in the order requests are matched against them.
pub fn table() -> &'static [Route] {
    static TABLE: OnceLock<Vec<Route>> = OnceLock::new();
    TABLE.get_or_init(build)
}

/// A handler made once for the life of the process (a closure over a
/// declaration); the table holds it for ever, so it is never freed.
fn leak(
    handler: impl Fn(&mut Ctx) -> crate::error::ApiResult<crate::http::ApiResponse> + Sync + 'static,
) -> Handler {
    Box::leak(Box::new(handler))
}

/// A generated path pattern, kept for the life of the process.
fn pattern(path: String) -> &'static str {
    Box::leak(path.into_boxed_str())
}

fn build() -> Vec<Route> {
    let mut routes = vec![Route::confd(Get, "/1.1/infos", &infos::get)];
    for resource in RESOURCES {
        routes.extend(resource_routes(resource));
        for association in ASSOCIATIONS
            .iter()
            .filter(|a| std::ptr::eq(a.owner, *resource))
        {
            routes.extend(owner_routes(association));
        }
        for association in ASSOCIATIONS
            .iter()
            .filter(|a| std::ptr::eq(a.target, *resource))
        {
            routes.extend(reverse_route(association));
        }
        for part in SUB_OBJECTS
            .iter()
            .filter(|p| std::ptr::eq(p.owner, *resource))
        {
            routes.extend(sub_object_routes(part));
        }
    }
    routes.extend(special_routes());
    routes
}

fn resource_routes(resource: &'static Resource) -> Vec<Route> {
    let collection = format!("/1.1/{}", resource.collection);
    let one = pattern(format!("{collection}/{{{}}}", resource.param));
    let collection = pattern(collection);
    resource
        .ops
        .iter()
        .map(|&op| {
            let (method, path) = match op {
                Op::List => (Get, collection),
                Op::Create => (Post, collection),
                Op::Get => (Get, one),
                Op::Update => (Put, one),
                Op::Delete => (Delete, one),
            };
            Route {
                declared: Some(Declared::Resource(resource, op)),
                ..Route::confd(method, path, leak(move |ctx| resource.serve(op, ctx)))
            }
        })
        .collect()
}

fn association_route(
    association: &'static Association,
    op: AssociationOp,
    method: Method,
    path: &'static str,
) -> Route {
    Route {
        declared: Some(Declared::Association(association, op)),
        ..Route::confd(method, path, leak(move |ctx| association.serve(op, ctx)))
    }
}

fn owner_routes(association: &'static Association) -> Vec<Route> {
    let base = association.owner_path();
    let one = pattern(format!("{base}/{{{}}}", association.target.param));
    let base = pattern(base);
    let (associate, dissociate) = match association.shape {
        Shape::Single => ((Post, base), base),
        Shape::Multiple => ((Post, base), one),
        Shape::Linked => ((Put, one), one),
    };
    let mut routes = vec![
        association_route(association, AssociationOp::Read, Get, base),
        association_route(
            association,
            AssociationOp::Associate,
            associate.0,
            associate.1,
        ),
        association_route(association, AssociationOp::Dissociate, Delete, dissociate),
    ];
    if association.pair_routes {
        routes.push(association_route(
            association,
            AssociationOp::ReadPair,
            Get,
            one,
        ));
        routes.push(association_route(
            association,
            AssociationOp::UpdatePair,
            Put,
            one,
        ));
    }
    routes
}

fn reverse_route(association: &'static Association) -> Option<Route> {
    if association.reverse == Reverse::None {
        return None;
    }
    let path = pattern(association.reverse_path()?);
    Some(association_route(
        association,
        AssociationOp::ReadReverse,
        Get,
        path,
    ))
}

fn sub_object_routes(part: &'static SubObject) -> Vec<Route> {
    let path = pattern(part.owner_path());
    [(Get, SubObjectOp::Read), (Put, SubObjectOp::Update)]
        .into_iter()
        .map(|(method, op)| Route {
            declared: Some(Declared::SubObject(part, op)),
            ..Route::confd(method, path, leak(move |ctx| part.serve(op, ctx)))
        })
        .collect()
}

fn special_routes() -> Vec<Route> {
    vec![
        // CSV out and in (see resources::call_logs)
        Route::confd(Get, "/1.1/call_logs", &call_logs::export).answering(&call_logs::CSV),
        Route::confd(Post, "/1.1/call_logs", &call_logs::load).taking(&call_logs::CSV_BODY),
        // the users CSV (see resources::user_import)
        Route::confd(Post, "/1.1/users/import", &user_import::create)
            .taking(&user_import::CSV_BODY),
        Route::confd(Put, "/1.1/users/import", &user_import::update).taking(&user_import::CSV_BODY),
        Route::confd(Get, "/1.1/users/export", &user_import::export).answering(&user_import::CSV),
        Route::confd(
            Get,
            "/1.1/configuration/live_reload",
            &configuration::get_live_reload,
        ),
        Route::confd(
            Put,
            "/1.1/configuration/live_reload",
            &configuration::put_live_reload,
        ),
        Route::confd(Get, "/1.1/lines/{line}/extension", &extensions::legacy_get),
        Route::confd(
            Post,
            "/1.1/lines/{line}/extension",
            &extensions::legacy_associate,
        ),
        Route::confd(
            Delete,
            "/1.1/lines/{line}/extension",
            &extensions::legacy_dissociate,
        ),
        // a template's and a user's keys, by position (src/resources/funckeys.rs)
        Route::confd(Get, "/1.1/funckeys/destinations", &funckeys::destinations),
        Route::confd(
            Get,
            "/1.1/funckeys/templates/{template}/{position}",
            &funckeys::get_template_key,
        ),
        Route::confd(
            Put,
            "/1.1/funckeys/templates/{template}/{position}",
            &funckeys::put_template_key,
        ),
        Route::confd(
            Delete,
            "/1.1/funckeys/templates/{template}/{position}",
            &funckeys::delete_template_key,
        ),
        Route::confd(Get, "/1.1/users/{user}/funckeys", &funckeys::get_user_keys),
        Route::confd(
            Get,
            "/1.1/users/{user}/funckeys/{position}",
            &funckeys::get_user_key,
        ),
        Route::confd(
            Put,
            "/1.1/users/{user}/funckeys/{position}",
            &funckeys::put_user_key,
        ),
        Route::confd(
            Delete,
            "/1.1/users/{user}/funckeys/{position}",
            &funckeys::delete_user_key,
        ),
        Route::confd(
            Put,
            "/1.1/callfilters/{callfilter}/recipients/users",
            &callfilters::put_recipients,
        ),
        Route::confd(
            Put,
            "/1.1/callfilters/{callfilter}/surrogates/users",
            &callfilters::put_surrogates,
        ),
        // a device's actions, and its lines (src/resources/devices.rs)
        Route::confd(
            Get,
            "/1.1/devices/{device}/synchronize",
            &devices::synchronize,
        ),
        Route::confd(Get, "/1.1/devices/{device}/autoprov", &devices::autoprov),
        Route::confd(
            Get,
            "/1.1/devices/{device}/associate_line/{line}",
            &devices::associate_line,
        ),
        Route::confd(
            Get,
            "/1.1/devices/{device}/remove_line/{line}",
            &devices::remove_line,
        ),
        // change events: the stream, and a webhook's deliveries (src/events)
        Route {
            produces: crate::routes::Produces::EventStream,
            ..Route::confd(Get, "/1.1/events", &crate::events::stream::open)
        },
        Route::confd(
            Get,
            "/1.1/webhooks/{webhook}/deliveries",
            &webhooks::deliveries,
        ),
        Route::auth(Post, "/0.1/token", token_api::create),
        Route::auth(Get, "/0.1/token/{token}", token_api::check),
        Route::auth(Head, "/0.1/token/{token}", token_api::check),
        Route::auth(Delete, "/0.1/token/{token}", token_api::revoke),
        Route::auth(Get, "/0.1/backends", token_api::backends),
        // the API described (src/openapi), and its console on each listener
        Route::confd_public(
            Get,
            "/1.1/api/api.json",
            leak(|ctx| openapi::serve(Service::Confd, table(), ctx)),
        ),
        Route {
            service: Service::Auth,
            ..Route::confd_public(
                Get,
                "/0.1/api/api.json",
                leak(|ctx| openapi::serve(Service::Auth, table(), ctx)),
            )
        },
        // the counters for Prometheus, on every listener (src/metrics.rs)
        Route::scrape(
            Service::Confd,
            "/metrics",
            metrics::ACL,
            &metrics::TEXT,
            &metrics::serve,
        ),
        Route::scrape(
            Service::Auth,
            "/metrics",
            metrics::ACL,
            &metrics::TEXT,
            &metrics::serve,
        ),
        Route::console(Service::Confd, "/api", &openapi::console::redirect),
        Route::console(Service::Confd, "/api/", &openapi::console::page),
        Route::console(Service::Confd, "/api/{file}", &openapi::console::file),
        Route::console(Service::Auth, "/api", &openapi::console::redirect),
        Route::console(Service::Auth, "/api/", &openapi::console::page),
        Route::console(Service::Auth, "/api/{file}", &openapi::console::file),
    ]
}

/// One line per route: service, method, path pattern, and the ACL it needs
/// (or `public`), in matching order; what `docs/routes.txt` holds.
pub fn listing() -> String {
    let mut text = String::new();
    for route in table() {
        let access = match route.access {
            crate::routes::Access::Acl => crate::auth::acl::required_for(
                "confd",
                &crate::routes::acl_words(route.path),
                route.method,
            ),
            crate::routes::Access::Public => "public".into(),
            crate::routes::Access::Scrape(acl) => format!("{acl} (or Bearer)"),
        };
        let service = match route.service {
            Service::Confd => "confd",
            Service::Auth => "auth",
        };
        text.push_str(&format!(
            "{service:<5} {:<6} {:<48} {access}\n",
            route.method.as_str(),
            route.path
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed listing is the live table: a change of routes shows in
    /// review as a change of `docs/routes.txt`. `UPDATE_ROUTES=1 cargo test
    /// --lib api::` rewrites it.
    #[test]
    fn the_committed_route_listing_is_the_live_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/routes.txt");
        let live = listing();
        if std::env::var_os("UPDATE_ROUTES").is_some() {
            std::fs::write(&path, &live).expect("write docs/routes.txt");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == live,
            "docs/routes.txt differs from the route table; rerun with UPDATE_ROUTES=1 \
             and review the change. Live table:\n{live}"
        );
    }

    #[test]
    fn every_declared_operation_has_its_route() {
        for resource in RESOURCES {
            for op in resource.ops {
                assert!(
                    table().iter().any(|route| matches!(
                        route.declared,
                        Some(Declared::Resource(r, o)) if std::ptr::eq(r, *resource) && o == *op
                    )),
                    "{} {op:?} has no route",
                    resource.name
                );
            }
        }
        for association in ASSOCIATIONS {
            let routes = table()
                .iter()
                .filter(|route| {
                    matches!(
                        route.declared,
                        Some(Declared::Association(a, _)) if std::ptr::eq(a, *association)
                    )
                })
                .count();
            let reverse = usize::from(association.reverse != Reverse::None);
            let pair = if association.pair_routes { 2 } else { 0 };
            let expected = 3 + reverse + pair;
            assert_eq!(routes, expected, "{}", association.name);
        }
        for part in SUB_OBJECTS {
            let ops: Vec<SubObjectOp> = table()
                .iter()
                .filter_map(|route| match route.declared {
                    Some(Declared::SubObject(p, op)) if std::ptr::eq(p, *part) => Some(op),
                    _ => None,
                })
                .collect();
            assert_eq!(
                ops,
                [SubObjectOp::Read, SubObjectOp::Update],
                "{}",
                part.name
            );
        }
    }

    #[test]
    fn no_two_routes_share_a_method_and_pattern() {
        let mut seen = std::collections::HashSet::new();
        for route in table() {
            assert!(
                seen.insert((
                    route.service == Service::Auth,
                    route.method.as_str(),
                    route.path
                )),
                "{} {} twice",
                route.method.as_str(),
                route.path
            );
        }
    }
}
