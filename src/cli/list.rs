//! `jobs list`: the caller's jobs as a compact table (or JSON).

use crate::jobs::routes::JobResponse;
use chrono::Local;

const HEADER: [&str; 6] = ["ID", "TYPE", "STATUS", "PROGRESS", "CREATED", "FILE"];

/// One row per job, columns padded to their widest cell; the last column is not padded.
pub fn table(jobs: &[JobResponse]) -> String {
    let rows: Vec<[String; 6]> = jobs.iter().map(row).collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for cells in std::iter::once(HEADER.map(str::to_owned)).chain(rows) {
        let line: Vec<String> = cells.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        out += line.join("  ").trim_end();
        out.push('\n');
    }
    out
}

fn row(job: &JobResponse) -> [String; 6] {
    let status = if job.stalled { format!("{} (stalled)", job.status) } else { job.status.to_string() };
    let file = job.metadata.get("filename").and_then(|f| f.as_str()).unwrap_or("-");
    [
        job.id.to_string(),
        job.job_type.to_string(),
        status,
        format!("{}%", job.progress),
        job.created_at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string(),
        file.to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_under_the_header() {
        let job: JobResponse = serde_json::from_value(serde_json::json!({
            "id": "01938a2e-0000-7000-8000-000000000001", "type": "import", "status": "running",
            "progress": 40, "created_at": "2026-12-02T14:39:05Z", "started_at": null,
            "completed_at": null, "error_message": null, "related_dataset_id": null,
            "metadata": {"filename": "prices.csv"}, "retry_count": 0, "max_retries": 3, "priority": 0,
            "run_at": "2026-12-02T14:39:05Z", "attempt": 1, "cancel_requested_at": null, "version": 3,
            "stage": null, "eta_seconds": null, "stalled": false
        }))
        .unwrap();
        let text = table(&[job]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].starts_with("ID                                    TYPE    STATUS   PROGRESS  CREATED"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("01938a2e-0000-7000-8000-000000000001  import  running  40%       2026-12-0"),
            "{text}"
        );
        assert!(lines[1].ends_with("  prices.csv"), "{text}");
        assert_eq!(lines[0].find("FILE"), lines[1].find("prices.csv"));
    }
}
