-- numbers.lua — integer/float arithmetic, string.format, string.pack
print(7 // 2, 7 % 3, -7 // 2, -7 % 3, 7 / 2, 2 ^ 10, 7.0 // 2, -7.5 % 2)
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger)
print(math.type(1), math.type(1.0), math.type("1"), 1 == 1.0, math.tointeger(3.0), math.tointeger(3.5))
print(3 & 5, 3 | 5, 3 ~ 5, ~0, 1 << 62, 1 << 64, -1 >> 63, "10" + 5, "3" * "4")
print(math.floor(-3.5), math.ceil(-3.5), math.abs(-7), math.max(3, 9, 1), math.min(3.5, 2))
print(math.fmod(7, 3), math.fmod(-7, 3), math.sqrt(144), math.pi, math.huge, -math.huge)
print(string.format("%.3f %5.1f %e %g %g", math.pi, 2.25, 12345.678, 1e20, 0.1))
print(string.format("%d %5d %-5d| %05d %x %X %o %c", 42, 42, 42, 42, 255, 255, 8, 65))
print(string.format("%s %10s %-10s| %q %%", "s", "right", "left", "q\"uote"))
print(string.format("%q %q %a", 1 / 0, math.mininteger, 1.0))
print(2^53 == 2^53 + 1, 0.1 + 0.2 == 0.3, 0.1 + 0.2, 100000000000000, 1e15, 2^63)
print(tostring(-0.0), 0/0 ~= 0/0, 3 % math.huge, -3 % math.huge)
local sum, fsum = 0, 0.0
for i = 1, 100000 do sum = sum + i * i; fsum = fsum + 1 / i end
print(sum, string.format("%.10f", fsum))
local x = 1
for _ = 1, 70 do x = x * 3 end
print(x, string.format("%.17g", 3.0 ^ 70))
-- string.pack / unpack
local packed = string.pack("<i4 i8 d s1 z B h", -2, 1 << 40, 2.5, "abc", "zero", 255, -300)
print(#packed, (packed:gsub(".", function(ch) return string.format("%02x", ch:byte()) end)))
print(string.unpack("<i4 i8 d s1 z B h", packed))
print(string.packsize("<i4 i8 d"), string.pack(">I2", 0x1234):byte(1, -1))
print(string.unpack("<I3", "\1\2\3"), pcall(string.pack, "i1", 200))
-- the math.random generator, seeded
math.randomseed(42)
local r = {}
for i = 1, 5 do r[i] = math.random(1, 1000) end
math.randomseed(42)
local same = true
for i = 1, 5 do same = same and r[i] == math.random(1, 1000) end
print("random repeats with its seed", same)
