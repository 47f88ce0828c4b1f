--[[
  Fragment, not a script: `--#include lib/wake.lua` is replaced by this text when the scripts
  are loaded. Expects the local `rcall`.
]]
-- Tells the processes listening on `channel` (processors: input; sequencers: results) that the
-- partition `tag` has something for them. A hint only: they also poll, so a lost one delays.
local function wake(channel, tag)
  if channel ~= '' then rcall('PUBLISH', channel, tag) end
end
