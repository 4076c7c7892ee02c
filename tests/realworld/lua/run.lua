-- run.lua — runs the scripts named on the command line, which lie next to it, one after the
-- other in this lua_State, each under a "== name" line; arg[0] is the script's own path while
-- it runs. An error in one ends lua.exe with status 1.
local dir = arg[0]:gsub("[^\\/]*$", "")
local names = {table.unpack(arg)}
for _, name in ipairs(names) do
  print("== " .. name)
  arg = {[0] = dir .. name}
  dofile(dir .. name)
end
print("== all " .. #names .. " scripts ran")
