//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "jobwatch",
        description = "Durable background jobs you can watch live: progress, failures, history."
    ),
    paths(
        crate::auth::routes::login,
        crate::auth::routes::logout,
        crate::auth::routes::me,
        crate::users::routes::create_user,
        crate::jobs::routes::active_jobs,
        crate::jobs::routes::get_job,
        crate::jobs::routes::create_job,
        crate::jobs::routes::start_job,
        crate::jobs::routes::report_progress,
        crate::jobs::routes::complete_job,
        crate::jobs::routes::fail_job,
        crate::jobs::routes::cancel_job,
        crate::jobs::routes::retry_job,
        crate::schedules::routes::list_schedules,
        crate::schedules::routes::create_schedule,
        crate::schedules::routes::delete_schedule,
        crate::imports::routes::create_supplier,
        crate::imports::routes::list_suppliers,
        crate::imports::routes::list_datasets,
        crate::imports::routes::get_dataset,
        crate::imports::routes::upload_file,
        crate::exports::routes::create_export,
        crate::exports::routes::download_export,
        super::health::healthz,
        super::health::readyz,
    ),
    modifiers(&BearerAuth),
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
