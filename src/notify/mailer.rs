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
    /// `smtp://host:587` (STARTTLS when offered), `smtp://host:587?tls=required`,
    /// `smtps://user:password@host:465` (TLS from the start), as lettre reads them.
    pub fn smtp(url: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("JOBWATCH_SMTP_URL: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let host = url.split_once("://").map_or(url, |(_, rest)| rest);
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h).split(['/', '?']).next().unwrap_or_default();
        Ok(Mailer::Smtp { transport, host: host.to_owned() })
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
