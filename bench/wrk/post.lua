-- wrk script for the benchmarks: POST the body in $BENCH_BODY_FILE as JSON, and print the
-- figures as one JSON line ("BENCH {...}") that bench/common.py reads. Latencies in µs.
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"p50":%d,"p95":%d,"p99":%d,' ..
    '"max":%d,"mean":%.1f,"errors":%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    e.connect + e.read + e.write + e.status + e.timeout))
end
