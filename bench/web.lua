-- wrk's script for bench/web.py: each request is the next line of the file named by
-- $WEB_BENCH_REQUESTS ("path" or "path<TAB>form body"), the threads taking turns, so
-- that tokens (and addresses) vary; a body makes the request a form POST with the
-- Origin header of $WEB_BENCH_ORIGIN. done() prints the figures as one JSON line.
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
  local path, body = line:match("^([^\t]*)\t?(.*)$")
  if body ~= "" then
    return wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Origin"] = origin,
    }, body)
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
