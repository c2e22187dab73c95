//! A digest email: subject, plain text and HTML, from the outcomes it carries. Pure: the
//! handler does the reading and sending.

use super::DigestLine;
use crate::jobs::JobStatus;
use std::fmt::Write;

/// What a digest says, before it is an email.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// An error is cut to this many characters in an email: the reason comes first.
const ERROR_CHARS: usize = 500;

/// `lines` must not be empty; `public_url` is where the page is served (no trailing slash).
pub fn render(lines: &[DigestLine], public_url: &str) -> Digest {
    let base = public_url.trim_end_matches('/');
    let subject = match lines {
        [one] => format!("{} {}", title(one), status_word(one.status)),
        many => format!("{} jobs finished: {}", many.len(), tally(many)),
    };
    let mut text = String::from("Your jobs on jobwatch:\n\n");
    let mut html =
        String::from("<!doctype html><html><body style=\"font-family:sans-serif\"><p>Your jobs on jobwatch:</p><ul>");
    for line in lines {
        let link = format!("{base}/jobs/{}", line.job_id);
        let error = line.error_message.as_deref().map(|e| cut(e, ERROR_CHARS));
        let _ = writeln!(
            text,
            "- {} {} at {}",
            title(line),
            status_word(line.status),
            line.finished_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        if let Some(error) = &error {
            let _ = writeln!(text, "  {error}");
        }
        let _ = writeln!(text, "  {link}\n");
        let _ = write!(
            html,
            "<li><a href=\"{}\">{}</a> <strong>{}</strong> at {}",
            escape(&link),
            escape(&title(line)),
            status_word(line.status),
            line.finished_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        if let Some(error) = &error {
            let _ = write!(html, "<br><code>{}</code>", escape(error));
        }
        html.push_str("</li>");
    }
    let _ =
        writeln!(text, "You get these emails because you asked for them: {base}/ (settings: PATCH /api/v2/auth/me).");
    let _ = write!(
        html,
        "</ul><p style=\"color:#666\">You get these emails because you asked for them on <a href=\"{0}/\">{0}</a>.</p></body></html>",
        escape(base)
    );
    Digest { subject, text, html }
}

/// "Import prices.csv", "Export", "Processing job".
fn title(line: &DigestLine) -> String {
    let kind = line.job_type.as_str();
    let mut title = kind[..1].to_uppercase() + &kind[1..];
    match &line.file_name {
        Some(name) => {
            title.push(' ');
            title.push_str(&cut(name, 100));
        }
        None => title.push_str(" job"),
    }
    title
}

fn status_word(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Completed => "completed",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "was cancelled",
        JobStatus::Pending | JobStatus::Running => "is unfinished",
    }
}

/// "2 completed, 1 failed".
fn tally(lines: &[DigestLine]) -> String {
    [(JobStatus::Completed, "completed"), (JobStatus::Failed, "failed"), (JobStatus::Cancelled, "cancelled")]
        .iter()
        .filter_map(|(status, word)| {
            let n = lines.iter().filter(|l| l.status == *status).count();
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobType;
    use chrono::TimeZone;
    use uuid::Uuid;

    fn line(status: JobStatus, file: Option<&str>, error: Option<&str>) -> DigestLine {
        DigestLine {
            job_id: Uuid::nil(),
            job_type: JobType::Import,
            status,
            finished_at: chrono::Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap(),
            file_name: file.map(str::to_owned),
            error_message: error.map(str::to_owned),
        }
    }

    #[test]
    fn one_outcome_is_its_own_subject_with_its_error_and_link() {
        let d =
            render(&[line(JobStatus::Failed, Some("prices.csv"), Some("line 3: 5 fields, header has 4"))], "http://x/");
        assert_eq!(d.subject, "Import prices.csv failed");
        assert!(d.text.contains("line 3: 5 fields, header has 4"), "{}", d.text);
        assert!(d.text.contains("http://x/jobs/00000000-0000-0000-0000-000000000000"), "{}", d.text);
        assert!(d.html.contains("<a href=\"http://x/jobs/00000000-0000-0000-0000-000000000000\">"), "{}", d.html);
    }

    #[test]
    fn a_burst_is_counted_in_the_subject() {
        let lines = [
            line(JobStatus::Completed, None, None),
            line(JobStatus::Completed, None, None),
            line(JobStatus::Failed, None, Some("no")),
        ];
        assert_eq!(render(&lines, "http://x").subject, "3 jobs finished: 2 completed, 1 failed");
    }

    #[test]
    fn html_escapes_what_users_wrote() {
        let d = render(&[line(JobStatus::Failed, Some("<b>.csv"), Some("bad \"<script>\""))], "http://x");
        assert!(!d.html.contains("<script>") && !d.html.contains("<b>.csv"), "{}", d.html);
        assert!(d.html.contains("&lt;b&gt;.csv") && d.html.contains("&lt;script&gt;"), "{}", d.html);
    }

    #[test]
    fn long_errors_are_cut() {
        let d = render(&[line(JobStatus::Failed, None, Some(&"é".repeat(2_000)))], "http://x");
        assert!(d.text.chars().filter(|&c| c == 'é').count() == ERROR_CHARS, "{}", d.text.len());
    }
}
