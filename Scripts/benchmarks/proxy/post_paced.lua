-- wrk script for `Scripts/bench.sh latency`: the POST of post.lua, with a pause of PACE_MS (default 20) ms
-- after each answer on each connection, so -c40 offers 40 / (20 ms + latency), just under 2,000 req/s,
-- instead of as many as the target can take: latency at a moderate rate, not under saturation.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "post.lua")
local pause = tonumber(os.getenv("PACE_MS") or "") or 20
function delay()
    return pause
end
