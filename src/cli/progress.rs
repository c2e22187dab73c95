//! What `jobs watch` shows while it follows a job: a progress bar on a terminal, one line per
//! change anywhere else (CI logs, a pipe), and at the end one line saying how the job ended.

use crate::jobs::JobStatus;
use crate::jobs::routes::JobResponse;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Where the human-readable output goes: stdout, or stderr when stdout carries `--json`.
#[derive(Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }

    fn line(self, text: &str) {
        match self {
            Stream::Stdout => println!("{text}"),
            Stream::Stderr => eprintln!("{text}"),
        }
    }
}

pub struct Progress {
    stream: Stream,
    view: View,
}

enum View {
    Bar(ProgressBar),
    /// The last line printed: a job's line is printed again only when it changes.
    Lines(Option<String>),
}

impl Progress {
    /// Starts showing `job`: a bar if `stream` is a terminal, else its first line.
    pub fn start(stream: Stream, job: &JobResponse) -> Progress {
        stream.line(&format!("watching {} job {}", job.job_type, job.id));
        let view = if stream.is_terminal() {
            let target = match stream {
                Stream::Stdout => ProgressDrawTarget::stdout(),
                Stream::Stderr => ProgressDrawTarget::stderr(),
            };
            let bar = ProgressBar::with_draw_target(Some(100), target).with_style(
                ProgressStyle::with_template("{bar:40} {pos:>3}% {elapsed:>4} {wide_msg}")
                    .expect("a valid template")
                    .progress_chars("█▌ "),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
            View::Bar(bar)
        } else {
            View::Lines(None)
        };
        let mut progress = Progress { stream, view };
        progress.show(job);
        progress
    }

    pub fn show(&mut self, job: &JobResponse) {
        match &mut self.view {
            View::Bar(bar) => {
                // The clock beside the bar is the job's running time, not this command's.
                if let Some(started) = job.started_at.filter(|_| job.status == JobStatus::Running) {
                    bar.set_elapsed((Utc::now() - started).to_std().unwrap_or_default());
                }
                bar.set_position(job.progress.clamp(0, 100) as u64);
                bar.set_message(state(job));
            }
            // A finished job's line is its outcome, printed by `end`.
            View::Lines(_) if job.status.is_terminal() => {}
            View::Lines(last) => {
                let line = line(job);
                if last.as_deref() != Some(&line) {
                    self.stream.line(&line);
                    *last = Some(line);
                }
            }
        }
    }

    /// A word about the watching itself (the service not answering), always on stderr.
    pub fn note(&self, text: &str) {
        match &self.view {
            View::Bar(bar) => bar.suspend(|| eprintln!("{text}")),
            View::Lines(_) => eprintln!("{text}"),
        }
    }

    /// The job ended: the bar stays where it stopped, and the outcome follows on its own line.
    pub fn end(self, job: &JobResponse) {
        self.leave();
        self.stream.line(&outcome(job));
    }

    /// Ctrl-C: watching stops, the job does not.
    pub fn interrupt(self) {
        if let View::Bar(bar) = &self.view {
            bar.finish_and_clear();
        }
        self.stream.line("stopped watching (the job goes on)");
    }

    fn leave(&self) {
        if let View::Bar(bar) = &self.view {
            bar.abandon();
        }
    }
}

/// What the job is doing, beside the bar: its status, and its stage or why it waits.
pub fn state(job: &JobResponse) -> String {
    let mut text = job.status.to_string();
    if job.status == JobStatus::Pending && job.retry_count > 0 {
        text += &format!(" (retry {} of {}", job.retry_count, job.max_retries);
        if let Some(error) = &job.error_message {
            text += &format!(" after: {error}");
        }
        text += ")";
    }
    if job.status == JobStatus::Running {
        if let Some(stage) = job.stage.as_deref().filter(|s| !s.is_empty()) {
            text += &format!(" · {stage}");
        }
        if job.cancel_requested_at.is_some() {
            text += " · stopping";
        }
        if job.stalled {
            text += " · stalled (no sign of life from its worker)";
        }
    }
    text
}

/// One line of plain progress: `running  40% · step 2 of 5`.
pub fn line(job: &JobResponse) -> String {
    let state = state(job);
    let (status, rest) = state.split_once(' ').unwrap_or((&state, ""));
    let rest = if rest.is_empty() { String::new() } else { format!(" {rest}") };
    format!("{status} {:>3}%{rest}", job.progress)
}

/// How the job ended, in one line: `completed in 3.2 s`, `failed: <error>`, `cancelled at 40%`.
pub fn outcome(job: &JobResponse) -> String {
    match job.status {
        JobStatus::Completed => match (job.started_at.unwrap_or(job.created_at), job.completed_at) {
            (from, Some(to)) => format!("completed in {}", took(from, to)),
            _ => "completed".to_owned(),
        },
        JobStatus::Failed => format!("failed: {}", job.error_message.as_deref().unwrap_or("(no error message)")),
        JobStatus::Cancelled => format!("cancelled at {}%", job.progress),
        JobStatus::Pending | JobStatus::Running => line(job),
    }
}

fn took(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let ms = (to - from).num_milliseconds().max(0);
    match ms / 1000 {
        0 => format!("{ms} ms"),
        s if s < 60 => format!("{:.1} s", ms as f64 / 1000.0),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobType;
    use chrono::TimeDelta;

    fn job(status: JobStatus, progress: i32) -> JobResponse {
        let now = Utc::now();
        JobResponse {
            id: uuid::Uuid::nil(),
            job_type: JobType::Processing,
            status,
            progress,
            created_at: now,
            started_at: None,
            completed_at: None,
            error_message: None,
            related_dataset_id: None,
            metadata: serde_json::json!({}),
            retry_count: 0,
            max_retries: 3,
            priority: 0,
            run_at: now,
            attempt: 0,
            cancel_requested_at: None,
            version: 1,
            stage: None,
            eta_seconds: None,
            stalled: false,
        }
    }

    #[test]
    fn a_completed_job_says_how_long_it_ran() {
        let mut done = job(JobStatus::Completed, 100);
        done.started_at = Some(done.created_at + TimeDelta::seconds(5));
        done.completed_at = Some(done.created_at + TimeDelta::milliseconds(8_240));
        assert_eq!(outcome(&done), "completed in 3.2 s");
        done.completed_at = Some(done.created_at + TimeDelta::milliseconds(5_035));
        assert_eq!(outcome(&done), "completed in 35 ms");
        done.completed_at = Some(done.created_at + TimeDelta::seconds(5 + 125));
        assert_eq!(outcome(&done), "completed in 2 min 5 s");
        done.completed_at = Some(done.created_at + TimeDelta::seconds(5 + 3720));
        assert_eq!(outcome(&done), "completed in 1 h 2 min");
    }

    #[test]
    fn a_failed_job_says_why_and_a_cancelled_one_where_it_stopped() {
        let mut failed = job(JobStatus::Failed, 40);
        failed.error_message = Some("line 3: expected 3 fields, found 2".into());
        assert_eq!(outcome(&failed), "failed: line 3: expected 3 fields, found 2");
        assert_eq!(outcome(&job(JobStatus::Cancelled, 40)), "cancelled at 40%");
    }

    #[test]
    fn a_line_shows_status_progress_and_what_the_job_is_doing() {
        assert_eq!(line(&job(JobStatus::Pending, 0)), "pending   0%");
        let mut running = job(JobStatus::Running, 40);
        running.stage = Some("step 2 of 5".into());
        assert_eq!(line(&running), "running  40% · step 2 of 5");
        running.stalled = true;
        assert_eq!(line(&running), "running  40% · step 2 of 5 · stalled (no sign of life from its worker)");
        let mut retrying = job(JobStatus::Pending, 0);
        retrying.retry_count = 1;
        retrying.error_message = Some("disk full".into());
        assert_eq!(line(&retrying), "pending   0% (retry 1 of 3 after: disk full)");
    }
}
