--[[
  Fragment, not a script: `--#include lib/time.lua` is replaced by this text when the scripts
  are loaded (shared/src/commands.ts). Expects the local `rcall`.
]]
-- Redis's own clock, in epoch ms: every lease deadline is set and compared with it, so a
-- process whose clock is off can neither take nor keep what is not its own.
local function nowMs()
  local t = rcall('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
