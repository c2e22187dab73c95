use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = jobwatch::config::Cli::parse();
    jobwatch::telemetry::init(cli.log_format);
    match jobwatch::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
