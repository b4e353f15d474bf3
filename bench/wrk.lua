-- Requests for `wrk -s bench/wrk.lua`, set by environment variables:
--   BENCH_TARGETS     "path|max;path|max": each request picks a target at random and replaces
--                     {id} in its path with a random integer from 1 to max
--   BENCH_SLUGS       a file of slugs, one a line: {slug} in a path is one of them at random
--   BENCH_AUTHORIZATION  "value;value;...": each request sends one of these at random as its
--                     Authorization header (none when unset)
-- When done it prints one line, "BENCH {json}", with the counts and latencies in microseconds.

local targets = {}
for path, max in string.gmatch(os.getenv("BENCH_TARGETS") or "/|1", "([^|;]+)|(%d+)") do
  targets[#targets + 1] = { path = path, max = tonumber(max), fixed = not path:find("{id}", 1, true) }
end

local slugs = {}
local authorization = {}
for value in string.gmatch(os.getenv("BENCH_AUTHORIZATION") or "", "[^;]+") do
  authorization[#authorization + 1] = { ["Authorization"] = value }
end
for _, target in ipairs(targets) do
  target.fixed = target.fixed and not target.path:find("{slug}", 1, true)
end

local function headers()
  if #authorization == 0 then
    return nil
  end
  return authorization[math.random(#authorization)]
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  local file = os.getenv("BENCH_SLUGS")
  if file then
    for line in io.lines(file) do
      slugs[#slugs + 1] = line
    end
  end
  for _, target in ipairs(targets) do
    if target.fixed then
      -- One request per Authorization value, made once.
      target.requests = {}
      for i = 1, math.max(#authorization, 1) do
        target.requests[i] = wrk.format(nil, target.path, authorization[i])
      end
    end
  end
end

function request()
  local target = targets[math.random(#targets)]
  if target.fixed then
    return target.requests[math.random(#target.requests)]
  end
  local path = target.path:gsub("{id}", tostring(math.random(target.max)), 1)
  if #slugs > 0 then
    path = path:gsub("{slug}", slugs[math.random(#slugs)], 1)
  end
  return wrk.format(nil, path, headers())
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
