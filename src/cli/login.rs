//! Where `jobwatch jobs …` gets its token: `JOBWATCH_TOKEN`, or on a terminal a login it asks
//! for (and revokes when the command ends).

use super::api::{Api, CallError};
use anyhow::Context;
use std::io::{BufRead, IsTerminal, Write};

/// Why there is no token and no way to ask for one.
pub const NO_TOKEN: &str = "no token: set JOBWATCH_TOKEN to a login token (the access_token of \
    POST /api/v2/auth/login), or run this on a terminal to log in with your email and password";

/// The caller's token, and whether this command made it (then `logout` revokes it).
pub struct Session {
    pub api: Api,
    pub logged_in_here: bool,
}

impl Session {
    /// With a token given, nothing is asked; without one, a terminal is asked for a login.
    pub async fn open(api: Api, token: Option<String>) -> anyhow::Result<Session> {
        if let Some(token) = token.filter(|t| !t.trim().is_empty()) {
            return Ok(Session { api: api.with_token(token.trim().to_owned()), logged_in_here: false });
        }
        anyhow::ensure!(std::io::stdin().is_terminal(), NO_TOKEN);
        let (email, password) = tokio::task::spawn_blocking(ask_for_login)
            .await
            .context("asking for a login")?
            .context("reading the login")?;
        let token = api.login(&email, &password).await.map_err(|e| match e {
            CallError::Unauthorized(message) => anyhow::anyhow!("{message}"),
            other => other.into(),
        })?;
        Ok(Session { api: api.with_token(token), logged_in_here: true })
    }

    /// Revokes a token this command logged in for; a given one stays the caller's.
    pub async fn close(self) {
        if self.logged_in_here
            && let Err(e) = self.api.logout().await
        {
            tracing::warn!("could not log out: {e}");
        }
    }
}

/// The email from stdin, the password from the terminal without echo.
fn ask_for_login() -> anyhow::Result<(String, String)> {
    let mut stderr = std::io::stderr();
    write!(stderr, "jobwatch login (set JOBWATCH_TOKEN to skip this)\nemail: ")?;
    stderr.flush()?;
    let mut email = String::new();
    std::io::stdin().lock().read_line(&mut email)?;
    let email = email.trim().to_owned();
    anyhow::ensure!(!email.is_empty(), "no email given");
    let password = rpassword::prompt_password("password: ")?;
    Ok((email, password))
}
