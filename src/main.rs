use clap::Parser;

// jemalloc gives freed memory back: with thousands of live sockets, glibc's allocator kept
// every connection's short-lived handshake buffers resident (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = jobwatch::config::Cli::parse();
    let telemetry =
        match jobwatch::telemetry::init(cli.log_format, cli.default_log_level(), cli.otlp_endpoint.as_deref()) {
            Ok(telemetry) => telemetry,
            Err(err) => {
                eprintln!("error: starting trace export: {err:#}");
                return std::process::ExitCode::FAILURE;
            }
        };
    let code = match jobwatch::cli::run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}
