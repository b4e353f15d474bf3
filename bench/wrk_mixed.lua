-- Requests for `wrk -s bench/wrk_mixed.lua`: anonymous reads of a hot set of blogs, and a share
-- of edits to them by their owners. Set by environment variables:
--   BENCH_MIXED        a file of "blog_id token" lines: the hot set and its owners' tokens
--   BENCH_WRITE_SHARE  the share of requests that are edits (0.05)
-- When done it prints one line, "BENCH {json}", as bench/wrk.lua does.

local blogs = {}
local share = tonumber(os.getenv("BENCH_WRITE_SHARE") or "0.05")
local edits = 0

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for line in io.lines(os.getenv("BENCH_MIXED")) do
    local id, token = line:match("^(%d+) (%S+)$")
    blogs[#blogs + 1] = {
      read = wrk.format(nil, "/blogs/" .. id),
      path = "/blogs/" .. id,
      headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
    }
  end
end

function request()
  local blog = blogs[math.random(#blogs)]
  if math.random() < share then
    edits = edits + 1
    return wrk.format("PATCH", blog.path, blog.headers, '{"title":"mixed ' .. edits .. '"}')
  end
  return blog.read
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
