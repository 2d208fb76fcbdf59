-- GET with one extra header given after `--`: `-- "Cookie: a=b"`.
function init(args)
  local name, value = args[1]:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
