-- The refresh_token grant with rotation. Each wrk thread takes its share of the seeded refresh
-- tokens (BENCH_TOKENS, a file with one per line) into a queue; every request takes the token at
-- the head of the queue and every answer puts the rotated successor at its tail, so each token is
-- used exactly once, and the seeded tokens (rows spread over the whole store) are all used before
-- any successor (a row just written). A failed refresh loses its token (and counts as an error).
-- Environment: BENCH_BASIC (base64 of id:secret), BENCH_TOKENS, BENCH_THREADS.
local threads_started = 0

function setup(thread)
  thread:set("index", threads_started)
  threads_started = threads_started + 1
end

local queue = {}
local head, tail = 1, 0
local auth

function init(args)
  auth = "Basic " .. os.getenv("BENCH_BASIC")
  local count = tonumber(os.getenv("BENCH_THREADS"))
  local n = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if n % count == index then
      tail = tail + 1
      queue[tail] = line
    end
    n = n + 1
  end
end

function request()
  local token = "queue-exhausted"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = auth,
  }, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  if status == 200 then
    local successor = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if successor then
      tail = tail + 1
      queue[tail] = successor
    end
  end
end
