-- gc_io.lua — the collector and file io
collectgarbage("collect")
local before = collectgarbage("count")
local big = {}
for i = 1, 200000 do big[i] = {i, tostring(i)} end
local during = collectgarbage("count")
print("grew", during > before + 1000)
big = nil
collectgarbage("collect")
local after = collectgarbage("count")
print("shrank", after < during / 2)
print(collectgarbage("isrunning"), collectgarbage("step", 0) ~= nil)
local finalized = 0
for _ = 1, 10 do setmetatable({}, {__gc = function() finalized = finalized + 1 end}) end
collectgarbage(); collectgarbage()
print("finalizers ran", finalized)
print(collectgarbage("incremental"), collectgarbage("generational"), collectgarbage("incremental"))
-- file io: next to this script
local dir = arg[0]:gsub("[^\\/]*$", "")
local path = dir .. "lua-io-test.tmp"
local f = assert(io.open(path, "w"))
for i = 1, 10 do f:write("line ", i, " ", i * i, "\n") end
f:write(string.format("%.2f", 3.14159), "\n")
f:close()
local n, total = 0, 0
for line in io.lines(path) do
  n = n + 1
  local sq = line:match("^line %d+ (%d+)$")
  if sq then total = total + tonumber(sq) end
end
print(n, total)
f = assert(io.open(path, "r"))
print(f:read("l"), f:read("n"), f:read("n"), f:seek("set", 0), f:read(4), f:seek("end") > 0)
f:close()
f = assert(io.open(path, "a+"))
f:write("appended\n")
f:seek("set")
local all = f:read("a")
f:close()
print(#all, select(2, all:gsub("\n", "")), all:sub(-9, -2))
f = assert(io.open(path, "wb"))
f:write(string.pack("<i4i4", 7, 9))
f:close()
f = assert(io.open(path, "rb"))
print(string.unpack("<i4i4", f:read("a")))
f:close()
print(os.remove(path), io.open(path, "r") == nil, io.type(f), io.type(io.stdout), io.type(42))
print(select("#", os.remove(path)), type(os.time()), type(os.clock()), os.getenv("HPT_LUA_UNSET_VARIABLE"))
