//! Email on completion: the setting, the trigger that records outcomes, digests (a burst is one
//! email, a long one is cut at the maximum wait), opt-out, and delivery through a real SMTP
//! server (aiosmtpd) that is down and then up. Workers are stepped with the test's clock.

use crate::helpers::{TestApp, TestUser, contract_tests, fast_worker_settings, test_mail, test_settings};
use axum::http::{Method, StatusCode};
use chrono::Duration;
use jobwatch::notify::Mailer;
use jobwatch::startup::AppSettings;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

async fn set_email(app: &TestApp, user: &TestUser, email: &str) -> crate::helpers::TestResponse {
    app.request(Method::PATCH, "/api/v2/auth/me", Some(&user.token), Some(json!({"notify": {"email": email}}))).await
}

/// A job of `user` ended by hand as `how` (complete or fail).
async fn finish(app: &TestApp, user: &TestUser, how: &str) -> Value {
    let job = app.create_job(user, "processing").await;
    assert_eq!(app.act(user, &job["id"], "start", json!({})).await.status, StatusCode::OK);
    let body = if how == "fail" { json!({"error_message": "line 3: 5 fields, header has 4"}) } else { json!({}) };
    let res = app.act(user, &job["id"], how, body).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    job
}

/// A node whose workers write mail into a directory of their own.
fn with_mail_dir(app: &TestApp) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = app.node(AppSettings { mail: test_mail(Mailer::files(dir.path().to_owned())), ..test_settings() });
    (node, dir)
}

fn emails(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
        .unwrap_or_default();
    files.sort();
    // Quoted-printable bodies break long lines with a trailing '=': joined again, so a link reads whole.
    files.iter().map(|f| std::fs::read_to_string(f).unwrap().replace("=\r\n", "")).collect()
}

/// The subject line of an email (lettre may fold or encode it; these are ASCII and short).
fn subject(email: &str) -> &str {
    email.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or_default()
}

contract_tests! {
    async fn the_setting_is_off_until_the_user_changes_it(app) {
        let user = app.new_user("u@example.com").await;
        let me = app.get("/api/v2/auth/me", &user).await;
        assert_eq!((me.status, &me.body["notify"]), (StatusCode::OK, &json!({"email": "off"})));
        assert_eq!(me.body["email"], "u@example.com", "the user's own fields stay at the top level");

        let changed = set_email(app, &user, "failures").await;
        assert_eq!((changed.status, &changed.body["notify"]["email"]), (StatusCode::OK, &json!("failures")));
        assert_eq!(app.get("/api/v2/auth/me", &user).await.body["notify"]["email"], "failures");

        let bad = set_email(app, &user, "sometimes").await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(bad.body["error"]["message"].as_str().unwrap().contains("off, failures, all"), "{}", bad.body);
        let unknown = app.request(Method::PATCH, "/api/v2/auth/me", Some(&user.token), Some(json!({"is_admin": true}))).await;
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.body);
        assert_eq!(app.get("/api/v2/auth/me", &user).await.body["is_admin"], false);
        let anonymous = app.request(Method::PATCH, "/api/v2/auth/me", None, Some(json!({"notify": {"email": "all"}}))).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }

    async fn users_cannot_submit_notification_jobs(app) {
        let user = app.new_user("u@example.com").await;
        for job_type in ["email", "webhook"] {
            let res = app.post("/api/v2/jobs", &user, json!({"job_type": job_type})).await;
            assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
            assert!(res.body["error"]["message"].as_str().unwrap().contains("created by jobwatch itself"), "{}", res.body);
        }
        let admin = app.new_admin("a@example.com").await;
        let schedule = json!({"name": "mail", "cron": "@hourly", "job_type": "email"});
        assert_eq!(app.post("/api/v2/schedules", &admin, schedule).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.count_jobs("true").await, 0);
    }

    async fn a_burst_of_outcomes_is_one_digest_once_it_is_quiet(app) {
        let (node, dir) = with_mail_dir(app);
        let user = node.new_user("u@example.com").await;
        assert_eq!(set_email(&node, &user, "all").await.status, StatusCode::OK);
        let worker = node.worker(fast_worker_settings());
        // 199 jobs ended by one statement of another tool (the trigger sees every path), one by the API.
        for _ in 0..199 {
            node.create_job(&user, "processing").await;
        }
        let now = node.ago(Duration::zero());
        node.sql(&format!("update background_jobs set status = 'completed', progress = 100, started_at = '{now}', \
                           completed_at = '{now}' where status = 'pending'")).await.unwrap();
        let failed = finish(&node, &user, "fail").await;

        // Within the quiet time (10 s) nothing is started.
        node.clock.advance(Duration::seconds(9));
        assert_eq!(worker.step().await.unwrap().digests, 0);
        assert!(emails(dir.path()).is_empty());

        node.clock.advance(Duration::seconds(2));
        let step = worker.step().await.unwrap();
        assert_eq!((step.digests, step.ran.len()), (1, 1), "{step:?}");
        let sent = emails(dir.path());
        assert_eq!(sent.len(), 1, "one email for 200 outcomes");
        let email = &sent[0];
        assert_eq!(subject(email), "200 jobs finished: 199 completed, 1 failed");
        assert!(email.contains("To: u@example.com"), "{email}");
        assert!(email.contains(&format!("Message-ID: <{}@jobwatch>", step.ran[0])), "{email}");
        assert!(email.contains("multipart/alternative") && email.contains("text/html"), "{email}");
        assert!(email.contains("line 3: 5 fields, header has 4"), "the failure's reason is in it");
        assert!(email.contains(&format!("http://jobwatch.test/jobs/{}", failed["id"].as_str().unwrap())), "{email}");
        assert_eq!(email.matches("http://jobwatch.test/jobs/").count(), 2 * 200, "each job linked in both parts");
        // Notifications wait behind users' due jobs.
        assert_eq!(node.job(&serde_json::to_value(step.ran[0]).unwrap()).await["priority"], -10);
        // Sent once: the digest job completed and what it carried is gone.
        assert_eq!(node.count_jobs("job_type = 'email' and status = 'completed' and created_by is null").await, 1);
        assert_eq!(worker.step().await.unwrap(), Default::default());
        assert_eq!(emails(dir.path()).len(), 1);
        let history = node.get("/api/v2/jobs?limit=100", &user).await.body;
        assert!(history["items"].as_array().unwrap().iter().all(|j| j["type"] == "processing"), "the digest is in nobody's history");
    }

    async fn a_long_burst_is_mailed_at_the_maximum_wait(app) {
        let (node, dir) = with_mail_dir(app);
        let user = node.new_user("u@example.com").await;
        set_email(&node, &user, "all").await;
        let worker = node.worker(fast_worker_settings());
        // One outcome every 8 s: never 10 s of quiet, so the 60 s maximum decides.
        for _ in 0..7 {
            finish(&node, &user, "complete").await;
            node.clock.advance(Duration::seconds(8));
            assert_eq!(worker.step().await.unwrap().digests, 0);
        }
        finish(&node, &user, "complete").await;
        node.clock.advance(Duration::seconds(5));
        assert_eq!(worker.step().await.unwrap().digests, 1, "the first outcome has waited 61 s");
        assert_eq!(subject(&emails(dir.path())[0]), "8 jobs finished: 8 completed");
    }

    async fn failures_only_and_opting_out_are_respected(app) {
        let (node, dir) = with_mail_dir(app);
        let failures = node.new_user("f@example.com").await;
        let off = node.new_user("off@example.com").await;
        set_email(&node, &failures, "failures").await;
        let worker = node.worker(fast_worker_settings());
        finish(&node, &failures, "complete").await;
        finish(&node, &failures, "fail").await;
        finish(&node, &off, "fail").await;
        node.clock.advance(Duration::seconds(11));
        assert_eq!(worker.step().await.unwrap().digests, 1, "one digest: the user who is off has none");
        let sent = emails(dir.path());
        assert_eq!(sent.len(), 1);
        assert!(subject(&sent[0]).starts_with("Processing job failed"), "{}", sent[0]);
        assert!(sent[0].contains("To: f@example.com"));

        // Turned off after the outcome was recorded and before it was sent: nothing goes.
        set_email(&node, &off, "all").await;
        finish(&node, &off, "complete").await;
        set_email(&node, &off, "off").await;
        node.clock.advance(Duration::seconds(11));
        let step = worker.step().await.unwrap();
        assert_eq!((step.digests, step.ran.len()), (1, 1));
        assert_eq!(emails(dir.path()).len(), 1, "the setting is read again before sending");
        assert_eq!(node.count_jobs("job_type = 'email' and status = 'completed'").await, 2);
    }
}

/// aiosmtpd on a port, saving what it accepts into a directory; killed when dropped.
struct SmtpSink {
    child: Child,
    port: u16,
}

impl SmtpSink {
    fn start(dir: &Path, port: u16) -> SmtpSink {
        use std::io::BufRead;
        let python = std::env::var("JOBWATCH_TEST_SMTP_PYTHON").unwrap_or_else(|_| {
            format!("{}/.cache/jobwatch-venv/bin/python", std::env::var("HOME").unwrap_or_default())
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/smtp-sink.py");
        let mut child = Command::new(&python)
            .args([script, dir.to_str().unwrap(), &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {python} (scripts/smtp-server.sh installs it): {e}"));
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("listening ").and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("smtp-sink said {line:?}"));
        SmtpSink { child, port }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

contract_tests! {
    async fn a_mail_server_that_is_down_then_up_gets_the_digest_once(app) {
        let received = tempfile::tempdir().unwrap();
        // A port with nothing on it yet: the sink starts there later.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mailer = Mailer::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap();
        let node = app.node(AppSettings { mail: test_mail(mailer), ..test_settings() });
        let user = node.new_user("u@example.com").await;
        set_email(&node, &user, "all").await;
        let worker = node.worker(fast_worker_settings());
        let job = finish(&node, &user, "fail").await;
        node.clock.advance(Duration::seconds(11));

        let first = worker.step().await.unwrap();
        assert_eq!(first.digests, 1);
        let digest = serde_json::to_value(first.ran[0]).unwrap();
        let waiting = node.job(&digest).await;
        assert_eq!((waiting["status"].as_str(), waiting["retry_count"].as_i64()), (Some("pending"), Some(1)), "{waiting}");
        assert!(waiting["error_message"].as_str().unwrap().contains("could not be reached"), "{waiting}");
        // The job that finished is untouched by the outage.
        assert_eq!(node.job(&job["id"]).await["status"], "failed");

        let sink = SmtpSink::start(received.path(), port);
        assert_eq!(sink.port, port);
        node.clock.advance(Duration::seconds(5));
        let second = worker.step().await.unwrap();
        assert_eq!(second.ran, first.ran, "the same digest job, retried");
        assert_eq!(node.job(&digest).await["status"], "completed");
        assert_eq!(node.count_rows("mail_pending", "true").await, 0);
        let sent = emails(received.path());
        assert_eq!(sent.len(), 1, "delivered once");
        assert!(sent[0].contains(&format!("Message-ID: <{}@jobwatch>", first.ran[0])), "{}", sent[0]);
        assert!(sent[0].contains("line 3: 5 fields, header has 4"), "{}", sent[0]);
        assert!(sent[0].contains(&format!("http://jobwatch.test/jobs/{}", job["id"].as_str().unwrap())));
        node.clock.advance(Duration::seconds(60));
        assert_eq!(worker.step().await.unwrap(), Default::default());
        assert_eq!(emails(received.path()).len(), 1, "and never again");
        drop(sink);
    }
}

contract_tests! {
    async fn a_digest_out_of_retries_gives_up_its_outcomes(app) {
        // Nothing listens on this port: every attempt fails.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let node = app.node(AppSettings { mail: test_mail(Mailer::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap()), ..test_settings() });
        let user = node.new_user("u@example.com").await;
        set_email(&node, &user, "all").await;
        let worker = node.worker(fast_worker_settings());
        finish(&node, &user, "complete").await;
        node.clock.advance(Duration::seconds(11));
        assert_eq!(worker.step().await.unwrap().digests, 1);
        assert_eq!(node.count_rows("mail_pending", "digest_job_id is not null").await, 1, "held by its retrying digest");
        // Its last try: it fails for good and lets go of what it carried (nothing else would).
        node.sql("update background_jobs set max_retries = retry_count where job_type = 'email'").await.unwrap();
        node.clock.advance(Duration::minutes(5));
        worker.step().await.unwrap();
        assert_eq!(node.count_jobs("job_type = 'email' and status = 'failed'").await, 1);
        assert_eq!(node.count_rows("mail_pending", "true").await, 0);
    }

    async fn a_digest_cancelled_while_it_waits_gives_up_its_outcomes(app) {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let node = app.node(AppSettings { mail: test_mail(Mailer::smtp(&format!("smtp://127.0.0.1:{port}")).unwrap()), ..test_settings() });
        let user = node.new_user("u@example.com").await;
        let admin = node.new_admin("root@example.com").await;
        set_email(&node, &user, "all").await;
        finish(&node, &user, "fail").await;
        node.clock.advance(Duration::seconds(11));
        let step = node.worker(fast_worker_settings()).step().await.unwrap();
        let digest = serde_json::to_value(step.ran[0]).unwrap();
        assert_eq!(node.job(&digest).await["status"], "pending", "waiting for its retry");
        // An admin stops it: what it carried goes with it, not left for nobody to send.
        assert_eq!(node.act(&admin, &digest, "cancel", json!({})).await.status, StatusCode::OK);
        assert_eq!(node.job(&digest).await["status"], "cancelled");
        assert_eq!(node.count_rows("mail_pending", "true").await, 0);
        // The user's next outcomes make a digest of their own.
        finish(&node, &user, "complete").await;
        assert_eq!(node.count_rows("mail_pending", "digest_job_id is null").await, 1);
    }

    async fn a_file_name_that_is_not_text_does_not_break_a_digest(app) {
        let (node, dir) = with_mail_dir(app);
        let user = node.new_user("u@example.com").await;
        set_email(&node, &user, "all").await;
        let job = node.post("/api/v2/jobs", &user, json!({"job_type": "validation", "metadata": {"filename": 5}})).await.body;
        node.act(&user, &job["id"], "start", json!({})).await;
        node.act(&user, &job["id"], "complete", json!({})).await;
        node.clock.advance(Duration::seconds(11));
        let step = node.worker(fast_worker_settings()).step().await.unwrap();
        assert_eq!(step.ran.len(), 1);
        assert_eq!(subject(&emails(dir.path())[0]), "Validation job completed", "the same on both backends");
    }
}
