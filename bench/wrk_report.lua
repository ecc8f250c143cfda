-- wrk script: cycle through the paths listed in a file (one per line), report JSON at the end.
-- A line "path<TAB>cookie" sends that Cookie header (a logged-in reader's session).
local paths = {}
local i = 0

init = function(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      local path, cookie = line:match("^([^\t]+)\t(.+)$")
      if path then paths[#paths + 1] = {path, cookie} else paths[#paths + 1] = {line, nil} end
    end
  end
end

request = function()
  i = (i % #paths) + 1
  local entry = paths[i]
  if entry[2] then
    return wrk.format("GET", entry[1], {Cookie = entry[2]})
  end
  return wrk.format("GET", entry[1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
