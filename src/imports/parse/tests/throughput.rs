//! A throughput measurement, ignored by default: run it in release with
//! `cargo test --release --lib imports::parse::tests::throughput -- --ignored --nocapture`.
//! `make bench-import` measures the same side by side on its bench file, and its README keeps the
//! figures. Every row here has a field that needs quoting on output.

use std::time::Instant;

use crate::imports::parse::{FileFormat, parse_stream};

#[test]
#[ignore = "a measurement, not a check: run in release"]
fn csv_throughput() {
    // ~100 MB, ten mixed columns, like a typical export
    let mut input = Vec::with_capacity(110 << 20);
    input.extend_from_slice(b"id,name,price,qty,active,created,email,score,city,note\n");
    let mut i: u64 = 0;
    while input.len() < 100_000_000 {
        let line = format!(
            "{i},customer {i},{}.{:02},{},{},2024-{:02}-{:02},user{i}@example.com,{}.5,\"City, {}\",some free text here\n",
            i % 1000,
            i % 100,
            i % 50,
            if i.is_multiple_of(2) { "true" } else { "false" },
            i % 12 + 1,
            i % 28 + 1,
            i % 977,
            i % 300
        );
        input.extend_from_slice(line.as_bytes());
        i += 1;
    }
    // the floor: the csv crate only splitting the same bytes into records
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).buffer_capacity(64 << 10).from_reader(&input[..]);
    let mut record = csv::ByteRecord::new();
    let mut records = 0u64;
    while reader.read_byte_record(&mut record).expect("reads") {
        records += 1;
    }
    let split_only = started.elapsed().as_secs_f64();
    println!("csv crate, split only: {records} records, {:.0} MB/s", input.len() as f64 / 1e6 / split_only);

    let started = Instant::now();
    let parsed = parse_stream(
        FileFormat::Csv,
        &Default::default(),
        &input[..],
        input.len() as u64,
        std::io::sink(),
        &mut |_| {},
    )
    .expect("parses");
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} rows, {:.0} MB in {seconds:.2} s: {:.0} MB/s; {:?}",
        parsed.row_count,
        input.len() as f64 / 1e6,
        input.len() as f64 / 1e6 / seconds,
        parsed.columns.iter().map(|c| c.column_type).collect::<Vec<_>>()
    );
}
