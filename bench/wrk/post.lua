-- wrk script for the benchmarks: POST the body in $BENCH_BODY_FILE as JSON, and print the
-- figures as one JSON line ("BENCH {...}") that bench/common.py reads. Latencies in µs.
--
-- Two options, for the live path (bench/live_path.py), each making the request per request:
-- $BENCH_MIX_FILE, lines "PATH BODY": the requests cycle through them (the body file is unused).
-- $BENCH_SALT: every "{unique}" in a body becomes "<salt>-<count>", the count one per request
-- of this run, so no two bodies are the same (a cassette in record mode misses every time).
-- The count is per wrk thread: the benchmarks run wrk -t1.
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

local salt = os.getenv("BENCH_SALT")
local mix = {}
if os.getenv("BENCH_MIX_FILE") then
  for line in io.lines(os.getenv("BENCH_MIX_FILE")) do
    local path, body = line:match("^(%S+) (.+)$")
    if path then mix[#mix + 1] = {path, body} end
  end
end

if salt or #mix > 0 then
  local count = 0
  request = function()
    local path, body = nil, wrk.body
    if #mix > 0 then
      path, body = mix[count % #mix + 1][1], mix[count % #mix + 1][2]
    end
    count = count + 1
    if salt then
      body = body:gsub("{unique}", salt .. "-" .. count)
    end
    return wrk.format(nil, path, nil, body)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"p50":%d,"p95":%d,"p99":%d,' ..
    '"max":%d,"mean":%.1f,"errors":%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean,
    e.connect + e.read + e.write + e.status + e.timeout))
end
