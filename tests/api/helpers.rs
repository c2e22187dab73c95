//! `TestApp`: the whole router over a fresh database (a SQLite file, or a PostgreSQL schema
//! of its own), a hand-moved clock, and helpers that read like the spec.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::{DateTime, Duration, DurationRound, Utc};
use http_body_util::BodyExt;
use jobwatch::clock::ManualClock;
use jobwatch::http::{AppState, DEFAULT_MAX_BODY_BYTES, router};
use jobwatch::imports::ImportSettings;
use jobwatch::objects::Objects;
use jobwatch::startup::{AppSettings, app_state};
use jobwatch::storage::{PgStore, PoolSettings, SqliteStore, Store};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use tower::ServiceExt;
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery";
pub const TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

pub fn postgres_url() -> String {
    std::env::var("JOBWATCH_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Plain-SQL access to the test's database, as another tool would have.
#[derive(Clone)]
pub enum RawDb {
    Sqlite { pool: sqlx::SqlitePool, path: PathBuf },
    Postgres { pool: sqlx::PgPool, schema: String },
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub raw: RawDb,
    /// Where the app keeps files: a fresh directory per test unless a test brings its own store.
    pub objects: Objects,
    pub objects_dir: Option<PathBuf>,
}

/// The settings tests run the API with: no active-list cache (tests see every change at
/// once unless they turn it on), default import limits.
pub fn test_settings() -> AppSettings {
    AppSettings {
        token_ttl: TOKEN_TTL,
        active_cache: std::time::Duration::ZERO,
        stalled_after: std::time::Duration::from_secs(20),
        allowed_origins: Vec::new(),
        imports: ImportSettings::default(),
        // Sessions checked often, so a test of a socket closing on logout waits little.
        live: jobwatch::live::LiveSettings {
            check_sessions_every: std::time::Duration::from_millis(200),
            stall_check_every: std::time::Duration::from_millis(50),
            ..Default::default()
        },
        // Read at every scrape: a test sees the queue as it is now.
        metrics: jobwatch::metrics::MetricsSettings::default(),
        // Nothing is written unless a test's user opts in; tests of email set their own.
        mail: test_mail(jobwatch::notify::Mailer::files(
            std::env::temp_dir().join("jobwatch-test-mail").join(uuid::Uuid::new_v4().to_string()),
        )),
        // Tests' receivers listen on 127.0.0.1; tests of the guard turn this off.
        webhooks: jobwatch::webhooks::WebhookSettings { allow_private: true, ..Default::default() },
    }
}

/// Mail through `mailer`, from jobwatch@test, linking to http://jobwatch.test.
pub fn test_mail(mailer: jobwatch::notify::Mailer) -> jobwatch::notify::Mail {
    let settings = jobwatch::notify::MailSettings {
        from: "jobwatch <jobwatch@test.example>".into(),
        public_url: "http://jobwatch.test".into(),
    };
    jobwatch::notify::Mail { mailer, settings }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

fn start_time() -> DateTime<Utc> {
    // Whole milliseconds: SQLite keeps millisecond precision, so both backends agree.
    Utc::now().duration_trunc(Duration::milliseconds(1)).unwrap()
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let path = std::env::temp_dir().join(format!("jobwatch-test-{}.db", Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", path.display());
        let store = SqliteStore::connect(&url, &PoolSettings::default()).await.expect("open sqlite");
        let raw = RawDb::Sqlite { pool: store.pool().clone(), path };
        Self::build(Arc::new(store), raw).await
    }

    pub async fn postgres() -> TestApp {
        let url = postgres_url();
        let schema = format!("jwtest_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {url} is not reachable ({e}); set JOBWATCH_TEST_DATABASE_URL or run the SQLite half")
        });
        admin.execute(sqlx::AssertSqlSafe(format!("create schema {schema}"))).await.expect("create schema");
        admin.close().await.ok();
        let options =
            sqlx::postgres::PgConnectOptions::from_str(&url).unwrap().options([("search_path", schema.as_str())]);
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect_with(options).await.unwrap();
        let raw = RawDb::Postgres { pool: pool.clone(), schema };
        Self::build(Arc::new(PgStore::from_pool(pool)), raw).await
    }

    async fn build(store: Arc<dyn Store>, raw: RawDb) -> TestApp {
        store.migrate_up().await.expect("migrations");
        let clock = Arc::new(ManualClock::new(start_time()));
        let dir = std::env::temp_dir().join(format!("jobwatch-objects-{}", Uuid::new_v4().simple()));
        let objects = Objects::local(&dir).expect("object directory");
        let state = app_state(store.clone(), clock.clone(), objects.clone(), test_settings()).unwrap();
        let router = router(state.clone(), DEFAULT_MAX_BODY_BYTES);
        TestApp { router, state, clock, store, raw, objects, objects_dir: Some(dir) }
    }

    /// Another node's view of the same database, clock and files, with its own settings.
    /// Only the original is cleaned up.
    pub fn node(&self, settings: AppSettings) -> TestApp {
        TestApp { objects_dir: self.objects_dir.clone(), ..self.node_with_objects(self.objects.clone(), settings) }
    }

    /// As [`TestApp::node`], keeping files in `objects`.
    pub fn node_with_objects(&self, objects: Objects, settings: AppSettings) -> TestApp {
        let state = app_state(self.store.clone(), self.clock.clone(), objects.clone(), settings).unwrap();
        let router = router(state.clone(), DEFAULT_MAX_BODY_BYTES);
        TestApp {
            router,
            state,
            clock: self.clock.clone(),
            store: self.store.clone(),
            raw: self.raw.clone(),
            objects,
            objects_dir: None,
        }
    }

    /// Another node over `store` (e.g. [`TestApp::second_store`]), with the same clock and files.
    pub fn node_on(&self, store: Arc<dyn Store>, settings: AppSettings) -> TestApp {
        let state = app_state(store.clone(), self.clock.clone(), self.objects.clone(), settings).unwrap();
        let router = router(state.clone(), DEFAULT_MAX_BODY_BYTES);
        TestApp {
            router,
            state,
            store,
            objects_dir: None,
            ..self.node_with_objects(self.objects.clone(), test_settings())
        }
    }

    /// Another node with the active-list cache on, as `serve` runs by default.
    pub fn node_with_active_cache(&self, ttl: std::time::Duration) -> TestApp {
        self.node(AppSettings { active_cache: ttl, ..test_settings() })
    }

    pub async fn cleanup(self) {
        if let Some(dir) = &self.objects_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        match self.raw {
            RawDb::Sqlite { pool, path } => {
                pool.close().await;
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            RawDb::Postgres { pool, schema } => {
                pool.close().await;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_url()).await {
                    let _ = conn.execute(sqlx::AssertSqlSafe(format!("drop schema {schema} cascade"))).await;
                    let _ = conn.close().await;
                }
            }
        }
    }

    /// Another node's store on the same database (its own pool and bus), on PostgreSQL; `None`
    /// on SQLite, which serves one node.
    pub async fn second_store(&self) -> Option<Arc<dyn Store>> {
        let RawDb::Postgres { schema, .. } = &self.raw else { return None };
        // Named after the schema, so a test can find (and kill) this node's connections.
        let options = sqlx::postgres::PgConnectOptions::from_str(&postgres_url())
            .unwrap()
            .options([("search_path", schema.as_str())])
            .application_name(schema);
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect_with(options).await.unwrap();
        Some(Arc::new(PgStore::from_pool(pool)))
    }

    /// Ends the LISTEN connections of [`TestApp::second_store`]'s node (PostgreSQL), as a
    /// restart, a network cut or an admin would.
    pub async fn kill_second_store_listeners(&self) {
        let RawDb::Postgres { schema, .. } = &self.raw else { panic!("only PostgreSQL has listeners") };
        self.sql(&format!(
            "select pg_terminate_backend(pid) from pg_stat_activity \
             where application_name = '{schema}' and query ilike 'listen%'"
        ))
        .await
        .unwrap();
    }

    /// Close the pool the app uses, as when the database goes away.
    pub async fn close_pool(&self) {
        match &self.raw {
            RawDb::Sqlite { pool, .. } => pool.close().await,
            RawDb::Postgres { pool, .. } => pool.close().await,
        }
    }

    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Run plain SQL, as another tool writing the table would.
    pub async fn sql(&self, sql: &str) -> Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.raw {
            RawDb::Sqlite { pool, .. } => pool.execute(sql).await.map(|_| ()),
            RawDb::Postgres { pool, .. } => pool.execute(sql).await.map(|_| ()),
        }
    }

    /// How many jobs match a plain-SQL condition.
    pub async fn count_jobs(&self, condition: &str) -> i64 {
        self.count_rows("background_jobs", condition).await
    }

    /// How many rows of `table` match a plain-SQL condition.
    pub async fn count_rows(&self, table: &str, condition: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("select count(*) from {table} where {condition}"));
        match &self.raw {
            RawDb::Sqlite { pool, .. } => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            RawDb::Postgres { pool, .. } => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }

    /// Wait (10 s at most) until `expected` jobs match `condition`.
    pub async fn wait_for_count(&self, what: &str, condition: &str, expected: i64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let n = self.count_jobs(condition).await;
            if n == expected {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}: {n} of {expected}");
            // The poll of a deadline-bounded wait: what runs in the background takes real time.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A timestamp literal both backends read: ISO-8601 UTC.
    pub fn ago(&self, by: Duration) -> String {
        (self.clock_now() - by).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use jobwatch::clock::Clock;
        self.clock.now()
    }

    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(req).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("{status}: body is not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        TestResponse { status, headers, body }
    }

    pub async fn request(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> TestResponse {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = match body {
            Some(body) => req.header("content-type", "application/json").body(Body::from(body.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    pub async fn get(&self, path: &str, user: &TestUser) -> TestResponse {
        self.request(Method::GET, path, Some(&user.token), None).await
    }

    pub async fn post(&self, path: &str, user: &TestUser, body: Value) -> TestResponse {
        self.request(Method::POST, path, Some(&user.token), Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.request(Method::POST, "/api/v2/auth/login", None, Some(json!({"email": email, "password": password})))
            .await
    }

    async fn user(&self, email: &str, admin: bool) -> TestUser {
        let user = self.state.users.create(email, PASSWORD, admin).await.expect("create user");
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        TestUser {
            id: user.id,
            email: email.to_owned(),
            token: login.body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn new_user(&self, email: &str) -> TestUser {
        self.user(email, false).await
    }

    pub async fn new_admin(&self, email: &str) -> TestUser {
        self.user(email, true).await
    }

    /// `POST /api/v2/jobs` as `user`; asserts 201 and returns the job.
    pub async fn create_job(&self, user: &TestUser, job_type: &str) -> Value {
        let res = self.post("/api/v2/jobs", user, json!({ "job_type": job_type })).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        res.body
    }

    /// `POST /api/v2/jobs/{id}/{action}` as `user`.
    pub async fn act(&self, user: &TestUser, id: &Value, action: &str, body: Value) -> TestResponse {
        let path = format!("/api/v2/jobs/{}/{action}", id.as_str().unwrap());
        self.post(&path, user, body).await
    }

    /// Ids of the user's active jobs, in the order returned.
    pub async fn active_ids(&self, user: &TestUser) -> Vec<String> {
        let res = self.get("/api/v2/jobs/active", user).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        res.body.as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap().to_owned()).collect()
    }
}

/// A worker over the test's store and clock, with durations short enough for tests. The
/// clock stands still unless a test moves it, so leases and backoff expire only on purpose.
pub struct TestWorker {
    shutdown: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

pub fn fast_worker_settings() -> jobwatch::worker::WorkerSettings {
    use std::time::Duration;
    jobwatch::worker::WorkerSettings {
        concurrency: 4,
        type_limits: Default::default(),
        lease: Duration::from_secs(2),
        heartbeat: Duration::from_millis(50),
        poll: Duration::from_millis(50),
        backoff: jobwatch::worker::Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(10) },
        shutdown_grace: Duration::from_millis(200),
        retention: Duration::from_secs(7 * 24 * 3600),
        rescue_every: Duration::from_millis(50),
        prune_every: Duration::from_secs(3600),
        schedule_every: Duration::from_millis(20),
        digest: jobwatch::notify::DigestTiming { quiet: Duration::from_secs(10), max_wait: Duration::from_secs(60) },
        digest_every: Duration::from_millis(20),
        webhook_every: Duration::from_millis(20),
        rollup_every: Duration::from_millis(20),
    }
}

impl TestWorker {
    pub fn spawn(worker: jobwatch::worker::Worker) -> TestWorker {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let token = shutdown.clone();
        TestWorker { shutdown, task: tokio::spawn(async move { worker.run(token).await }) }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("worker task").expect("worker ran");
    }
}

impl TestApp {
    /// A worker over the test's store, clock and files, not running: a test steps it
    /// (`worker.step()`: one pass, its jobs run to their end) to see what it does and does not do.
    pub fn worker(&self, settings: jobwatch::worker::WorkerSettings) -> jobwatch::worker::Worker {
        jobwatch::worker::Worker::new(
            self.store.clone(),
            self.clock.clone(),
            jobwatch::startup::handlers(
                self.store.clone(),
                self.objects.clone(),
                &self.state.metrics,
                &self.state.mail,
                &self.state.webhooks,
            ),
            settings,
            self.state.metrics.clone(),
        )
    }

    /// A worker running its loop in the background, as `jobwatch worker` does.
    pub fn start_worker(&self, settings: jobwatch::worker::WorkerSettings) -> TestWorker {
        TestWorker::spawn(self.worker(settings))
    }

    /// Poll the job until `done` holds (10 s at most).
    pub async fn wait_for(&self, id: &Value, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let job = self.job(id).await;
            if done(&job) {
                return job;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}: {job}");
            // The poll of a deadline-bounded wait: what runs in the background takes real time.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_for_status(&self, id: &Value, status: &str) -> Value {
        self.wait_for(id, status, |j| j["status"] == status).await
    }

    /// The job `id` as the API shows it, whoever owns it.
    pub async fn job(&self, id: &Value) -> Value {
        let id: Uuid = id.as_str().unwrap().parse().unwrap();
        let job = self.store.find_job(id).await.unwrap().expect("job exists");
        serde_json::to_value(jobwatch::jobs::routes::JobResponse::new(job, self.state.jobs.viewed_at())).unwrap()
    }
}

/// Defines each test twice, once per backend: `name::sqlite` and `name::postgres`.
macro_rules! contract_tests {
    ($(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: &$crate::helpers::TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::sqlite().await;
                run(&app).await;
                app.cleanup().await;
            }

            #[tokio::test]
            async fn postgres() {
                let app = $crate::helpers::TestApp::postgres().await;
                run(&app).await;
                app.cleanup().await;
            }
        }
    )*};
}
pub(crate) use contract_tests;
