//! The web app: the built files of `web/dist`, embedded in the binary and served at `/` next to
//! the API, with a fallback to the page for the app's own routes (`/history`, `/jobs/{id}`, …).

mod assets;
mod encoding;
mod routes;

pub use routes::fallback;
