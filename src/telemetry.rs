//! Structured logs on stderr via `tracing`; RUST_LOG picks the level, else the command's
//! default. With an OTLP endpoint, spans also go to an OpenTelemetry collector (`otlp`).

mod otlp;

use crate::config::LogFormat;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps trace export running until [`Telemetry::shutdown`].
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Send the spans still batched and stop exporting. The wait is on a blocking thread: the
    /// export runs on this runtime, which must stay free to run it.
    pub async fn shutdown(self) {
        let Some(provider) = self.traces else { return };
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("warning: sending the last traces failed: {err}"),
            Err(err) => eprintln!("warning: sending the last traces failed: {err}"),
        }
    }
}

/// Logs, and traces to `otlp_endpoint` when given (call inside the tokio runtime).
pub fn init(format: LogFormat, default_level: &str, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colours only for a person at a terminal, never into log files.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        LogFormat::Json => logs.json().flatten_event(true).boxed(),
    };
    let traces = otlp_endpoint.map(otlp::provider).transpose()?;
    let exported = traces.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(otlp::tracer(p)));
    // try_init: tests may initialise more than once.
    let _ = tracing_subscriber::registry().with(filter).with(logs).with(exported).try_init();
    Ok(Telemetry { traces })
}
