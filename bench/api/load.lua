-- wrk script (adapted from the reference peer's load.lua, same output): rotate
-- Authorization: Bearer <token> over all tokens in $TOKENS_FILE, so every request is a (likely)
-- different user. Prints req/s, p50/p90/p99/max latency and errors.
local tokens = {}
local idx = 0
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("thread_no", counter)
end

init = function(args)
  local f = os.getenv("TOKENS_FILE") or "/tmp/jobwatch-bench/tokens-pg.txt"
  for line in io.lines(f) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  -- spread threads over the token list
  idx = ((thread_no or 1) - 1) * math.floor(#tokens / 7) % #tokens
end

request = function()
  idx = idx % #tokens + 1
  return wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. tokens[idx] })
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local errs = e.connect + e.read + e.write + e.status + e.timeout
  io.write("---- summary ----\n")
  io.write(string.format("requests:    %d in %.1f s\n", summary.requests, secs))
  io.write(string.format("requests/s:  %.1f\n", summary.requests / secs))
  io.write(string.format("p50:         %.2f ms\n", latency:percentile(50) / 1000))
  io.write(string.format("p90:         %.2f ms\n", latency:percentile(90) / 1000))
  io.write(string.format("p99:         %.2f ms\n", latency:percentile(99) / 1000))
  io.write(string.format("max:         %.2f ms\n", latency.max / 1000))
  io.write(string.format("errors:      %d (connect %d, read %d, write %d, non-2xx %d, timeout %d)\n",
    errs, e.connect, e.read, e.write, e.status, e.timeout))
end
