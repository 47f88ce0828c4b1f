--[[
  Fragment, not a script: `--#include lib/priority.lua` is replaced by this text when the
  scripts are loaded.
]]
-- An unordered pipeline's queue score: priority * 2^40 + arrival number, so lower priority
-- numbers come first and equal priorities keep their arrival order. As PRIORITY_SHIFT in
-- shared/src/partition/keys.ts.
local PRIORITY_SHIFT = 1099511627776
