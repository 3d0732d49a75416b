-- wrk script for bench/http.sh: one reading per POST /speed, sensor ids rotating over 64 sensors,
-- no ts (the server stamps the time of ingestion, so readings never age out of the accepted window).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local requests = {}
local next_request = 0

function init(args)
    for i = 0, 63 do
        local body = string.format('{"sensor_id":"bench-%02d","speed":%d.5}', i, 40 + i)
        requests[i] = wrk.format(nil, "/speed", nil, body)
    end
end

function request()
    next_request = (next_request + 1) % 64
    return requests[next_request]
end

-- One line the benchmark script parses: requests, non-2xx answers, socket errors, latency percentiles (µs).
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
        summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(99)))
end
