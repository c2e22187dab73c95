"""DuckDB ingesting the same CSV files into an in-memory table: the same-sitting reference for
`make bench-import`. Prints one line per file: size, rows, seconds, MB/s, peak RSS."""

import resource
import sys
import time

import duckdb

for path in sys.argv[1:]:
    con = duckdb.connect(":memory:")
    size = __import__("os").path.getsize(path)
    began = time.perf_counter()
    con.execute(f"create table t as select * from read_csv('{path}')")
    seconds = time.perf_counter() - began
    rows = con.execute("select count(*) from t").fetchone()[0]
    types = [r[1] for r in con.execute("describe t").fetchall()]
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"duckdb {path}: {size / 2**20:.0f} MiB, {rows} rows, {seconds:.2f} s, {size / 1e6 / seconds:.1f} MB/s, "
          f"peak RSS {rss_mib:.0f} MiB, types {types}")
    con.close()
