-- PATCH /client for each id given after `--`, round robin.
local ids, i = {}, 0

function init(args)
  for _, id in ipairs(args) do ids[#ids + 1] = id end
end

function request()
  i = i % #ids + 1
  return wrk.format("PATCH", "/client", {["Content-Type"] = "application/json"}, '{"id": "' .. ids[i] .. '"}')
end

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
