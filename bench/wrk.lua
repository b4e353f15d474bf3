-- Requests for `wrk -s bench/wrk.lua`, set by environment variables:
--   BENCH_TARGETS     "path|max;path|max": each request picks a target at random and replaces
--                     {id} in its path with a random integer from 1 to max
-- When done it prints one line, "BENCH {json}", with the counts and latencies in microseconds.

local targets = {}
for path, max in string.gmatch(os.getenv("BENCH_TARGETS") or "/|1", "([^|;]+)|(%d+)") do
  targets[#targets + 1] = { path = path, max = tonumber(max), fixed = not path:find("{id}", 1, true) }
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for _, target in ipairs(targets) do
    if target.fixed then
      target.request = wrk.format(nil, target.path)
    end
  end
end

function request()
  local target = targets[math.random(#targets)]
  if target.fixed then
    return target.request
  end
  local path = target.path:gsub("{id}", tostring(math.random(target.max)), 1)
  return wrk.format(nil, path)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,'
      .. '"non_2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, errors.status, errors.connect, errors.read, errors.write, errors.timeout
  ))
end
