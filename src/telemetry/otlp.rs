//! Optional trace export (`JOBWATCH_OTLP_ENDPOINT`): every `tracing` span — each HTTP request,
//! and what runs inside it — sent to an OpenTelemetry collector as OTLP over HTTP/protobuf,
//! in batches. The requests go through the reqwest (and rustls) the project already builds.

use bytes::Bytes;
use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The provider that batches and sends spans; shut down (and so flushed) by [`super::Telemetry`].
pub fn provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    // As OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL, the signal's path appended.
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_http_client(Client::new()?)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder_empty().with_service_name("jobwatch").build())
        .build())
}

pub fn tracer(provider: &SdkTracerProvider) -> SdkTracer {
    provider.tracer("jobwatch")
}

/// reqwest as the exporter's HTTP client. The batch processor sends from a thread of its own,
/// outside tokio, so each request runs on the runtime that was current at start-up and the
/// thread only awaits its result.
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl Client {
    fn new() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| anyhow::anyhow!("trace export starts inside the tokio runtime"))?;
        Ok(Client { http: reqwest::Client::new(), runtime })
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Client {
    async fn send_bytes(
        &self,
        request: axum::http::Request<Bytes>,
    ) -> Result<axum::http::Response<Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::Request::try_from(request.map(reqwest::Body::from))?;
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let response = http.execute(request).await?;
            let mut answer = axum::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            Ok::<_, opentelemetry_http::HttpError>(answer.body(response.bytes().await?)?)
        });
        sent.await?
    }
}
