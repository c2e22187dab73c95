//! The OpenAPI 3.1 document's frame: title, tags, security, and the answers many routes share.
//! The paths come from each module's router (`http::routes`), where every route is declared
//! once with its annotation; [`SharedResponses`] then adds what a route answers by its kind.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, HttpMethod, ObjectBuilder, PathItem, Ref, RefOr, Response};
use utoipa::openapi::{OpenApi as Document, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi, PartialSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jobwatch",
        description = "Durable background jobs you can watch live: progress, failures, history."
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::live::LiveMessage, crate::live::SnapshotReason, crate::live::routes::LiveScope)),
    tags(
        (name = "jobs", description = "Background jobs and their progress"),
        (name = "auth", description = "Login, logout, the current user"),
        (name = "users", description = "User administration"),
        (name = "schedules", description = "Cron schedules that create jobs (admins)"),
        (name = "imports", description = "Suppliers, file uploads and the datasets they become"),
        (name = "exports", description = "Datasets written out as CSV, XLSX or JSON Lines"),
        (name = "webhooks", description = "Signed HTTP callbacks when jobs end"),
        (name = "operations", description = "Probes"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The answers a route gives because of what it is — it takes a token, an id in its path, a
/// query, a JSON body — rather than what it does. Each is written once, in
/// `components/responses`, and every operation of that kind refers to it. A route that lists
/// one of these statuses itself keeps its own entry: it says something more specific (the
/// history's 400 for a cursor, an admin route's 403). Applied to the whole document, after
/// every router has added its paths.
pub struct SharedResponses;

/// One shared answer: its status, its name under `components/responses`, what it means.
struct Shared {
    status: &'static str,
    name: &'static str,
    description: &'static str,
    /// A header it always carries, with its value's schema type.
    header: Option<(&'static str, Type, &'static str)>,
}

const BAD_REQUEST: Shared = Shared {
    status: "400",
    name: "BadRequest",
    description: "The request does not parse: `invalid_path` (an id in the path that is not a UUID), \
        `invalid_query` (a query parameter of the wrong type, or one the route does not take), \
        `malformed_json` (a body that is not JSON, or not UTF-8)",
    header: None,
};
const UNAUTHORIZED: Shared = Shared {
    status: "401",
    name: "Unauthorized",
    description: "`unauthorized`: no token (nor session cookie), or one that is unknown, revoked or expired",
    header: Some(("WWW-Authenticate", Type::String, "Always `Bearer`")),
};
const CROSS_ORIGIN: Shared = Shared {
    status: "403",
    name: "CrossOrigin",
    description: "`cross_origin`: a request that would change something, made with the session cookie \
        from a page of another origin (or with no `Origin` or `Referer`)",
    header: None,
};
const BODY_TOO_LARGE: Shared = Shared {
    status: "413",
    name: "BodyTooLarge",
    description: "`body_too_large`: the body is over `JOBWATCH_MAX_BODY_BYTES`",
    header: None,
};
const NOT_JSON: Shared = Shared {
    status: "415",
    name: "NotJson",
    description: "`unsupported_media_type`: the body is not sent as `application/json`",
    header: None,
};
const INVALID_BODY: Shared = Shared {
    status: "422",
    name: "InvalidBody",
    description: "`invalid_body`: JSON of another shape (a field missing, unknown or of the wrong type, a \
        name not in its list); `invalid_field`: a value the service refuses, outside its range or pattern \
        or for a reason the schema cannot tell (the message says which); `nul_character`: text holding the \
        NUL character, which PostgreSQL cannot store",
    header: None,
};
const UNAVAILABLE: Shared = Shared {
    status: "503",
    name: "Unavailable",
    description: "`unavailable`: the database cannot be reached right now; retry after `Retry-After` seconds",
    header: Some(("Retry-After", Type::Integer, "Seconds to wait: 1")),
};

impl Shared {
    fn response(&self) -> Response {
        let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        let mut response = ResponseBuilder::new().description(self.description).content("application/json", body);
        if let Some((name, kind, description)) = &self.header {
            let schema = ObjectBuilder::new().schema_type(kind.clone()).build();
            let header = HeaderBuilder::new().schema(Some(schema)).description(Some(*description)).build();
            response = response.header(*name, header);
        }
        response.build()
    }

    /// Adds the shared answer to `operation`, unless the route lists that status itself.
    fn add_to(&self, operation: &mut Operation) {
        operation
            .responses
            .responses
            .entry(self.status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(self.name)));
    }
}

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut Document) {
        let all = [BAD_REQUEST, UNAUTHORIZED, CROSS_ORIGIN, BODY_TOO_LARGE, NOT_JSON, INVALID_BODY, UNAVAILABLE];
        let components = openapi.components.get_or_insert_with(Default::default);
        // The error body every shared answer carries, whether or not a route names it.
        components.schemas.entry("ErrorBody".to_owned()).or_insert_with(crate::http::ErrorBody::schema);
        components.schemas.entry("ErrorDetail".to_owned()).or_insert_with(crate::http::ErrorDetail::schema);
        for shared in &all {
            components.responses.insert(shared.name.to_owned(), RefOr::T(shared.response()));
        }
        for item in openapi.paths.paths.values_mut() {
            for (method, operation) in operations(item) {
                let kind = Kind::of(method, operation);
                if kind.has_parameters || kind.json_body {
                    BAD_REQUEST.add_to(operation);
                }
                if kind.needs_token {
                    UNAUTHORIZED.add_to(operation);
                    if kind.changes_something {
                        CROSS_ORIGIN.add_to(operation);
                    }
                }
                if kind.any_body {
                    BODY_TOO_LARGE.add_to(operation);
                }
                if kind.json_body {
                    NOT_JSON.add_to(operation);
                    INVALID_BODY.add_to(operation);
                }
                if kind.uses_database {
                    UNAVAILABLE.add_to(operation);
                }
            }
        }
    }
}

/// What an operation is, as far as the shared answers go.
struct Kind {
    needs_token: bool,
    changes_something: bool,
    has_parameters: bool,
    json_body: bool,
    any_body: bool,
    uses_database: bool,
}

impl Kind {
    fn of(method: HttpMethod, operation: &Operation) -> Self {
        let content_types: Vec<&str> = match &operation.request_body {
            Some(RefOr::T(body)) => body.content.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        Kind {
            needs_token: operation.security.as_ref().is_some_and(|s| !s.is_empty()),
            changes_something: !matches!(method, HttpMethod::Get | HttpMethod::Head | HttpMethod::Options),
            has_parameters: operation.parameters.as_ref().is_some_and(|p| !p.is_empty()),
            json_body: content_types.contains(&"application/json"),
            any_body: !content_types.is_empty(),
            // Every route reads the database (a token is checked there), except the probes,
            // which say for themselves what they answer.
            uses_database: !operation.tags.iter().flatten().any(|tag| tag == "operations"),
        }
    }
}

fn operations(item: &mut PathItem) -> Vec<(HttpMethod, &mut Operation)> {
    let PathItem { get, put, post, delete, options, head, patch, trace, .. } = item;
    [
        (HttpMethod::Get, get),
        (HttpMethod::Put, put),
        (HttpMethod::Post, post),
        (HttpMethod::Delete, delete),
        (HttpMethod::Options, options),
        (HttpMethod::Head, head),
        (HttpMethod::Patch, patch),
        (HttpMethod::Trace, trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|o| (method, o)))
    .collect()
}
