-- wrk's script for bench/web.py: each request is the next line of the file named by
-- $WEB_BENCH_REQUESTS ("path", "path<TAB>form body" or "path<TAB>form body<TAB>client
-- address"), the threads taking turns, so that tokens (and addresses) vary; a body
-- makes the request a form POST with the Origin header of $WEB_BENCH_ORIGIN, and a
-- client address its X-Forwarded-For. done() prints the figures as one JSON line.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  lines = {}
  for line in io.lines(os.getenv("WEB_BENCH_REQUESTS")) do
    table.insert(lines, line)
  end
  origin = os.getenv("WEB_BENCH_ORIGIN")
  step = tonumber(os.getenv("WEB_BENCH_THREADS"))
  at = id
end

function request()
  local line = lines[(at % #lines) + 1]
  at = at + step
  local path, rest = line:match("^([^\t]*)\t?(.*)$")
  local body, client = rest:match("^([^\t]*)\t?(.*)$")
  if body ~= "" then
    local headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Origin"] = origin,
    }
    if client ~= "" then
      -- As the reverse proxy in front of the app says who the client is.
      headers["X-Forwarded-For"] = client
    end
    return wrk.format("POST", path, headers, body)
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50_us": %d, "p99_us": %d, "socket_errors": %d, "bad_status": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
