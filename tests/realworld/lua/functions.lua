-- functions.lua — closures, varargs, recursion, coroutines
local function counter()
  local n = 0
  return function() n = n + 1; return n end
end
local c1, c2 = counter(), counter()
c1(); c1()
print(c1(), c2())
local adders = {}
for i = 1, 5 do adders[i] = function(x) return x + i end end
print(adders[1](10), adders[5](10))
local function compose(f, g) return function(...) return f(g(...)) end end
print(compose(function(x) return x * 2 end, function(a, b) return a + b end)(3, 4))
local function va(...) return select("#", ...), ... end
print(va(1, nil, 3))
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(fib(25))
local function tail(n, acc) if n == 0 then return acc end return tail(n - 1, acc + n) end
print(tail(100000, 0))
-- memoize
local calls = 0
local function memo(f)
  local cache = {}
  return function(x) local v = cache[x]; if v == nil then v = f(x); cache[x] = v end; return v end
end
local sq = memo(function(x) calls = calls + 1; return x * x end)
for _ = 1, 3 do sq(4); sq(5) end
print(sq(4), sq(5), calls)
-- coroutines
local gen = coroutine.wrap(function() for i = 1, 5 do coroutine.yield(i * i) end return "done" end)
local out = {}
for _ = 1, 6 do out[#out + 1] = tostring(gen()) end
print(table.concat(out, " "))
local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b)
  local d, e = coroutine.yield(c * 2)
  return d + e
end)
print(coroutine.resume(co, 1, 2))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 3, 4))
print(coroutine.status(co), coroutine.resume(co))
-- producer/consumer
local function producer()
  return coroutine.create(function()
    for _, w in ipairs({"alpha", "beta", "gamma"}) do coroutine.yield(w) end
  end)
end
local p = producer()
local got = {}
while true do
  local ok, v = coroutine.resume(p)
  if not ok or v == nil then break end
  got[#got + 1] = v:upper()
end
print(table.concat(got, "+"), coroutine.status(p), coroutine.isyieldable())
local errco = coroutine.create(function() error("inside") end)
local ok, msg = coroutine.resume(errco)
print(ok, msg, coroutine.status(errco))
print(select(2, coroutine.running()))
