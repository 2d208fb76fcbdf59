-- POST a JSON object whose one field is new on every request: `-- /path field`.
local path, field, prefix, n = "/", "name", "", 0

function init(args)
  path, field = args[1], args[2]
  math.randomseed(os.time())
  prefix = string.format("w%06d-", math.random(0, 999999))
end

function request()
  n = n + 1
  return wrk.format("POST", path, {["Content-Type"] = "application/json"},
    '{"' .. field .. '": "' .. prefix .. n .. '"}')
end

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
