//! The `email` job: one user's digest of finished jobs. It reads the outcomes handed to it,
//! the user's address and setting as they are now, sends one email (Message-ID from the job's
//! id, so a retry is recognisably the same email), and then forgets those outcomes. A crash
//! after the server took the email and before that last write sends it once more: the one
//! window of at-least-once (docs/notifications.md).

use super::message::{Digest, render};
use super::{EmailNotify, MailSettings, Mailer, mailer::SendError};
use crate::jobs::JobStatus;
use crate::storage::Store;
use crate::worker::{HandlerError, JobContext, JobHandler};
use async_trait::async_trait;
use lettre::message::{Mailbox, Message, MultiPart};
use std::sync::Arc;
use uuid::Uuid;

/// What sends mail, and from whom: shared by every node's digest jobs.
#[derive(Debug, Clone)]
pub struct Mail {
    pub mailer: Mailer,
    pub settings: MailSettings,
}

pub struct EmailHandler {
    store: Arc<dyn Store>,
    mail: Mail,
}

impl EmailHandler {
    pub fn new(store: Arc<dyn Store>, mail: Mail) -> Self {
        Self { store, mail }
    }
}

#[async_trait]
impl JobHandler for EmailHandler {
    async fn run(&self, ctx: &JobContext) -> Result<(), HandlerError> {
        let digest = ctx.job().id;
        let result = self.send(ctx, digest).await;
        // A digest that will not be tried again gives up its outcomes, or they would wait forever.
        let last_try = ctx.job().retry_count >= ctx.job().max_retries;
        let given_up = matches!(result, Err(HandlerError::Permanent(_))) || (result.is_err() && last_try);
        if given_up && let Err(e) = self.store.finish_digest(digest).await {
            tracing::warn!(%digest, error = %e, "could not drop a failed digest's outcomes");
        }
        result
    }

    async fn cancelled(&self, digest: Uuid) {
        self.forget(digest).await;
    }

    async fn forget(&self, digest: Uuid) {
        if let Err(e) = self.store.finish_digest(digest).await {
            tracing::warn!(%digest, error = %e, "could not drop a digest's outcomes");
        }
    }
}

impl EmailHandler {
    async fn send(&self, ctx: &JobContext, digest: Uuid) -> Result<(), HandlerError> {
        let user = ctx
            .metadata()
            .get("user_id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or_else(|| HandlerError::Permanent("an email job names its user in metadata.user_id".into()))?;
        let mut lines = self.store.digest_lines(digest).await.map_err(HandlerError::retryable)?;
        let recipient = self.store.mail_recipient(user).await.map_err(HandlerError::retryable)?;
        // The setting as it is now: a user who turned mail off, or down to failures, since.
        let wanted = recipient.as_ref().filter(|r| !r.disabled).map_or(EmailNotify::Off, |r| r.notify);
        lines.retain(|line| match wanted {
            EmailNotify::All => true,
            EmailNotify::Failures => line.status == JobStatus::Failed,
            EmailNotify::Off => false,
        });
        if let (Some(recipient), false) = (recipient, lines.is_empty()) {
            let message = self.message(&recipient.email, digest, &render(&lines, &self.mail.settings.public_url))?;
            self.mail.mailer.send(message, digest).await.map_err(|e| match e {
                SendError::Transient(m) => HandlerError::Retryable(m),
                SendError::Permanent(m) => HandlerError::Permanent(m),
            })?;
            tracing::info!(%digest, jobs = lines.len(), "sent a digest email");
        }
        self.store.finish_digest(digest).await.map_err(HandlerError::retryable)?;
        Ok(())
    }

    fn message(&self, to: &str, digest: Uuid, body: &Digest) -> Result<Message, HandlerError> {
        let mailbox = |text: &str, what: &str| {
            text.parse::<Mailbox>().map_err(|e| HandlerError::Permanent(format!("{what} address '{text}': {e}")))
        };
        Message::builder()
            .from(mailbox(&self.mail.settings.from, "the From")?)
            .to(mailbox(to, "the user's")?)
            .subject(&body.subject)
            .message_id(Some(format!("<{digest}@jobwatch>")))
            .multipart(MultiPart::alternative_plain_html(body.text.clone(), body.html.clone()))
            .map_err(|e| HandlerError::Permanent(format!("could not build the email: {e}")))
    }
}
