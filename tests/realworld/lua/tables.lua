-- tables.lua — tables, sorting, metatables
local t = {}
for i = 1, 20 do t[i] = (i * 37) % 23 end
table.sort(t)
print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, " "))
table.insert(t, 1, 100); table.insert(t, 200); print(#t, t[1], t[#t], table.remove(t), table.remove(t, 1), #t)
print(table.unpack({1, 2, 3}))
print(select("#", table.unpack({1, nil, 3}, 1, 3)))
local moved = table.move({1, 2, 3, 4, 5}, 2, 4, 1)
print(table.concat(moved, ","))
local packed = table.pack(10, 20, nil, 40)
print(packed.n, packed[4])
-- a dictionary, printed in sorted key order
local d = {}
for i = 1, 50 do d["k" .. i] = i * i end
local keys = {}
for k in pairs(d) do keys[#keys + 1] = k end
table.sort(keys)
local sum = 0
for _, k in ipairs(keys) do sum = sum + d[k] end
print(#keys, keys[1], keys[#keys], sum)
-- metatables: a vector type
local V = {}
V.__index = V
local function vec(x, y) return setmetatable({x = x, y = y}, V) end
V.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
V.__mul = function(a, k) return vec(a.x * k, a.y * k) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__lt = function(a, b) return a:len2() < b:len2() end
V.__le = function(a, b) return a:len2() <= b:len2() end
V.__tostring = function(a) return "(" .. a.x .. "," .. a.y .. ")" end
V.__len = function() return 2 end
V.__call = function(a, k) return a.x * k + a.y end
V.__concat = function(a, b) return tostring(a) .. tostring(b) end
function V:len2() return self.x * self.x + self.y * self.y end
local a, b = vec(1, 2), vec(3, 4)
print(tostring(a + b), tostring(a * 3), a == vec(1, 2), a < b, b <= a, #a, a(10), a .. b)
-- __index / __newindex functions, rawget/rawset
local log = {}
local proxy = setmetatable({}, {
  __index = function(_, k) return "default-" .. k end,
  __newindex = function(tt, k, v) log[#log + 1] = k; rawset(tt, k, v * 2) end,
})
proxy.a = 5; proxy.b = 6
print(proxy.a, proxy.b, proxy.c, rawget(proxy, "c"), table.concat(log, ","))
-- inheritance
local Base = {}; Base.__index = Base
function Base.new(n) return setmetatable({n = n}, Base) end
function Base:name() return "base" .. self.n end
function Base:greet() return "hi " .. self:name() end
local Derived = setmetatable({}, {__index = Base}); Derived.__index = Derived
function Derived.new(n) return setmetatable(Base.new(n), Derived) end
function Derived:name() return "derived" .. self.n end
print(Base.new(1):greet(), Derived.new(2):greet(), getmetatable(Derived.new(3)) == Derived)
-- weak tables and __close
local weak = setmetatable({}, {__mode = "k"})
weak[{}] = 1
collectgarbage()
local n = 0
for _ in pairs(weak) do n = n + 1 end
print("weak entries after collect", n)
do
  local closed = {}
  do
    local _ <close> = setmetatable({}, {__close = function() closed[#closed + 1] = "closed" end})
  end
  print(closed[1])
end
