-- Authenticated requests for `wrk -s bench/wrk_writes.lua`, set by environment variables:
--   BENCH_WRITE   post:  POST /blogs, a new blog per request
--                 patch: PATCH /blogs/{id} with If-Match, on blogs the token's user owns
--                 me:    GET /users/me
--                 delete: DELETE /blogs/{id} for ids BENCH_FIRST_ID + i (i from 0 to
--                         BENCH_COUNT - 1), each once, by the user of token i % #tokens + 1
--                         (when they run out, the same again: 404s, counted as non-2xx); the
--                         next i is kept in the file BENCH_STATE, so a timed run goes on from
--                         where its warm-up stopped
--   BENCH_TOKENS  "token;token;...": bearer tokens, used in turn
--   BENCH_BLOGS   "id|n;id|n;..." (patch, delete): blogs, each owned by the user of the n-th token
--                 (from 1)
--
-- patch keeps each blog's latest ETag: a blog is taken from a free list for a request and put
-- back, with the ETag of the answer, when the answer comes; so no two requests in flight edit one
-- blog, and every If-Match names the version the previous edit left (the first use of a blog in a
-- run sends `*`). Keep more blogs than connections.
-- When done it prints one line, "BENCH {json}", with the counts and latencies in microseconds.

local mode = os.getenv("BENCH_WRITE") or "me"
local tokens = {}
for token in string.gmatch(os.getenv("BENCH_TOKENS") or "", "[^;]+") do
  tokens[#tokens + 1] = token
end
local free = {}
for id, owner in string.gmatch(os.getenv("BENCH_BLOGS") or "", "(%d+)|(%d+)") do
  free[#free + 1] = { id = id, token = tokens[tonumber(owner)], etag = "*" }
end
local blogs = {}
for _, blog in ipairs(free) do
  blogs[blog.id] = blog
end

local prepared = {}
local turn = 0
local edits = 0
local POST_BODY = '{"title":"A benchmark post","body":"Written by wrk, deleted after the run."}'

function init(args)
  for i, token in ipairs(tokens) do
    local headers = { ["Authorization"] = "Bearer " .. token }
    if mode == "post" then
      headers["Content-Type"] = "application/json"
      prepared[i] = wrk.format("POST", "/blogs", headers, POST_BODY)
    else
      prepared[i] = wrk.format("GET", "/users/me", headers)
    end
  end
end

local first_id = tonumber(os.getenv("BENCH_FIRST_ID") or "0")
local count = tonumber(os.getenv("BENCH_COUNT") or "1")
local state = os.getenv("BENCH_STATE")
doomed = -1
if state then
  local file = io.open(state, "r")
  if file then
    doomed = (tonumber(file:read("*l") or "") or 0) - 1
    file:close()
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function request()
  if mode == "delete" then
    doomed = (doomed + 1) % count
    local headers = { ["Authorization"] = "Bearer " .. tokens[doomed % #tokens + 1] }
    return wrk.format("DELETE", "/blogs/" .. (first_id + doomed), headers)
  end
  if mode ~= "patch" then
    turn = turn % #prepared + 1
    return prepared[turn]
  end
  local blog = table.remove(free)
  if blog == nil then
    error("more requests in flight than blogs: pass more blogs than connections")
  end
  edits = edits + 1
  local headers = {
    ["Authorization"] = "Bearer " .. blog.token,
    ["Content-Type"] = "application/json",
    ["If-Match"] = blog.etag,
  }
  return wrk.format("PATCH", "/blogs/" .. blog.id, headers, '{"title":"Edit ' .. edits .. '"}')
end

-- Only patch reads the answers (wrk parses bodies only for a script with this function).
if mode == "patch" then
  response = function(status, headers, body)
    local id = body and string.match(body, '^{"id":(%d+)')
    local blog = id and blogs[id]
    if blog ~= nil then
      blog.etag = headers["etag"] or headers["ETag"] or "*"
      free[#free + 1] = blog
    end
  end
end

function done(summary, latency, requests)
  if state and mode == "delete" then
    local next_id = 0
    for _, thread in ipairs(threads) do
      next_id = math.max(next_id, (thread:get("doomed") or -1) + 1)
    end
    local file = io.open(state, "w")
    file:write(next_id .. "\n")
    file:close()
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,'
      .. '"non_2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, errors.status, errors.connect, errors.read, errors.write, errors.timeout
  ))
end
