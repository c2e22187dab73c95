//! Where emails go: an SMTP server (`JOBWATCH_SMTP_URL`), or, with none set, `.eml` files in a
//! directory, so the embedded default needs no mail server and shows what would be sent.

use lettre::message::Message;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;
use uuid::Uuid;

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        host: String,
    },
    /// One `<digest id>.eml` per email: a retry rewrites the same file.
    Files(PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Why an email was not handed over.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth another try: the server is down, busy (4xx) or timed out.
    #[error("{0}")]
    Transient(String),
    /// Will fail again (5xx: the address is refused).
    #[error("{0}")]
    Permanent(String),
}

impl Mailer {
    /// `smtp://host:587` (STARTTLS when the server offers it), `smtp://host:587?tls=required`
    /// (STARTTLS or fail), `smtps://user:password@host:465` (TLS from the start). Credentials
    /// need one of the last two: they must never cross the network in clear text.
    pub fn smtp(url: &str) -> anyhow::Result<Self> {
        let mut parsed = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("JOBWATCH_SMTP_URL: {e}"))?;
        let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let encrypted = parsed.scheme() == "smtps" || tls.as_deref() == Some("required");
        anyhow::ensure!(
            encrypted || (parsed.username().is_empty() && parsed.password().is_none()),
            "JOBWATCH_SMTP_URL: credentials need smtps:// or ?tls=required, so they are never sent in clear text"
        );
        // lettre reads a bare smtp:// as no TLS at all; STARTTLS when offered is the safe default.
        if parsed.scheme() == "smtp" && tls.is_none() {
            parsed.query_pairs_mut().append_pair("tls", "opportunistic");
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(parsed.as_str())
            .map_err(|e| anyhow::anyhow!("JOBWATCH_SMTP_URL: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let host = format!(
            "{}:{}",
            parsed.host_str().unwrap_or_default(),
            parsed.port().map_or(String::new(), |p| p.to_string())
        );
        Ok(Mailer::Smtp { transport, host: host.trim_end_matches(':').to_owned() })
    }

    pub fn files(dir: PathBuf) -> Self {
        Mailer::Files(dir)
    }

    /// For the start-up line: where mail goes (never the credentials).
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { host, .. } => format!("SMTP {host}"),
            Mailer::Files(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    pub async fn send(&self, message: Message, id: Uuid) -> Result<(), SendError> {
        match self {
            Mailer::Smtp { transport, .. } => match transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("the mail server refused it: {e}"))),
                Err(e) => Err(SendError::Transient(format!("the mail server could not be reached: {e}"))),
            },
            Mailer::Files(dir) => {
                let (dir, bytes) = (dir.clone(), message.formatted());
                let written = tokio::task::spawn_blocking(move || write_atomically(&dir, &format!("{id}.eml"), &bytes));
                match written.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(SendError::Transient(format!("could not write the email: {e}"))),
                    Err(e) => Err(SendError::Transient(format!("could not write the email: {e}"))),
                }
            }
        }
    }
}

/// Written beside, then renamed: a reader never sees half an email.
fn write_atomically(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The transport's connection pool starts a task: built inside a runtime, as `serve` does.
    #[tokio::test]
    async fn credentials_are_refused_without_encryption() {
        let err = Mailer::smtp("smtp://me:secret@mail.example.com:587").unwrap_err().to_string();
        assert!(err.contains("never sent in clear text"), "{err}");
        assert!(Mailer::smtp("smtp://me:secret@mail.example.com:587?tls=required").is_ok());
        assert!(Mailer::smtp("smtps://me:secret@mail.example.com").is_ok());
    }

    #[tokio::test]
    async fn what_is_described_never_holds_the_password() {
        let mailer = Mailer::smtp("smtps://me:secret@mail.example.com:465").unwrap();
        assert_eq!(mailer.describe(), "SMTP mail.example.com:465");
        assert_eq!(Mailer::smtp("smtp://relay.internal").unwrap().describe(), "SMTP relay.internal");
    }
}
