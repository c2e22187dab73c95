//! The OpenAPI 3.1 document's frame: title, tags, security. The paths come from each module's
//! router (`http::routes`), where every route is declared once with its annotation.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
