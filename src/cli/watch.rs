//! Following one job until it ends: pushed on the service's live socket (`GET /jobs/ws`), and
//! where that cannot serve (no socket, a job outside the caller's view) asked for with
//! `GET /jobs/{id}` every half second.

use super::api::Api;
use super::progress::Progress;
use crate::jobs::routes::JobResponse;
use crate::live::{CLOSE_SESSION_ENDED, LiveMessage};
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Error, Message};

/// How often a job is asked for when it cannot be followed on the socket.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// How long a service that stopped answering is waited for (a restart, a deploy).
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);
const CONNECT_WITHIN: Duration = Duration::from_secs(10);

/// Follows `job` (as just read) until it is completed, failed or cancelled; returns it then.
pub async fn follow(api: &Api, mut job: JobResponse, progress: &mut Progress) -> anyhow::Result<JobResponse> {
    if job.status.is_terminal() {
        return Ok(job);
    }
    match on_socket(api, &mut job, progress).await {
        Followed::Ended => return Ok(job),
        Followed::SessionEnded => {
            anyhow::bail!(
                "the session ended (logged out, revoked or expired): log in again, or set a fresh JOBWATCH_TOKEN"
            )
        }
        Followed::NotInView => tracing::debug!("job {} is not in this caller's live view; polling", job.id),
        Followed::Lost(why) => tracing::debug!("the live socket cannot serve ({why}); polling"),
    }
    by_polling(api, job, progress).await
}

enum Followed {
    Ended,
    /// The first snapshot (every pending and running job of the caller's) does not hold it: an
    /// admin watching another user's job.
    NotInView,
    /// Closed with 4401, or the token refused at the upgrade.
    SessionEnded,
    Lost(String),
}

async fn on_socket(api: &Api, job: &mut JobResponse, progress: &mut Progress) -> Followed {
    let mut request = match api.live_url().into_client_request() {
        Ok(request) => request,
        Err(e) => return Followed::Lost(e.to_string()),
    };
    let headers = request.headers_mut();
    headers.insert("sec-websocket-protocol", HeaderValue::from_static(crate::live::routes::PROTOCOL));
    match HeaderValue::from_str(&format!("Bearer {}", api.token())) {
        Ok(value) => headers.insert("authorization", value),
        Err(_) => return Followed::Lost("the token is not a valid header".into()),
    };
    let mut socket = match tokio::time::timeout(CONNECT_WITHIN, tokio_tungstenite::connect_async(request)).await {
        Ok(Ok((socket, _))) => socket,
        // The token refused before the upgrade: no use asking again with it.
        Ok(Err(Error::Http(response))) if response.status() == StatusCode::UNAUTHORIZED => {
            return Followed::SessionEnded;
        }
        Ok(Err(e)) => return Followed::Lost(e.to_string()),
        Err(_) => return Followed::Lost("no answer within 10 s".into()),
    };
    // Pings are answered by the library as it reads.
    while let Some(message) = socket.next().await {
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(Some(frame))) if u16::from(frame.code) == CLOSE_SESSION_ENDED => {
                return Followed::SessionEnded;
            }
            Ok(Message::Close(frame)) => return Followed::Lost(format!("closed: {frame:?}")),
            Ok(_) => continue,
            Err(e) => return Followed::Lost(e.to_string()),
        };
        match serde_json::from_str::<LiveMessage>(&text) {
            Ok(LiveMessage::Snapshot { jobs, .. }) => match jobs.into_iter().find(|j| j.id == job.id) {
                Some(now) => update(job, now, progress),
                None => return Followed::NotInView,
            },
            Ok(LiveMessage::Job { job: now }) if now.id == job.id => update(job, now, progress),
            Ok(LiveMessage::Job { .. }) => {}
            Err(e) => return Followed::Lost(format!("an unreadable message: {e}")),
        }
        if job.status.is_terminal() {
            let _ = socket.close(None).await;
            return Followed::Ended;
        }
    }
    Followed::Lost("the socket closed".into())
}

async fn by_polling(api: &Api, mut job: JobResponse, progress: &mut Progress) -> anyhow::Result<JobResponse> {
    let mut failing_since: Option<Instant> = None;
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        match api.job(job.id).await {
            Ok(now) => {
                failing_since = None;
                update(&mut job, now, progress);
                if job.status.is_terminal() {
                    return Ok(job);
                }
            }
            Err(e) if e.is_transient() => match failing_since {
                None => {
                    let why = anyhow::Error::new(e);
                    progress.note(&format!("{why:#}; trying again for {} s", GIVE_UP_AFTER.as_secs()));
                    failing_since = Some(Instant::now());
                }
                Some(since) if since.elapsed() > GIVE_UP_AFTER => return Err(e.into()),
                Some(_) => {}
            },
            Err(e) => return Err(e.into()),
        }
    }
}

/// Takes `now` if it is newer than what is shown (a higher version; at the same version only
/// `stalled` can change), and shows it.
fn update(job: &mut JobResponse, now: JobResponse, progress: &mut Progress) {
    if now.version > job.version || (now.version == job.version && now.stalled != job.stalled) {
        *job = now;
        progress.show(job);
    }
}
