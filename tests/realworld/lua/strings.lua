-- strings.lua — string functions and patterns
local s = "The quick brown fox jumps over the lazy dog"
print(#s, s:upper(), s:lower())
print(s:sub(5, 9), s:sub(-3), s:rep(2, "|"):len())
print(s:find("fox"), s:find("o", 20, true), s:match("(%a+) dog$"))
local words = {}
for w in s:gmatch("%a+") do words[#words + 1] = w end
print(#words, table.concat(words, ","))
print((s:gsub("o", "0")), select(2, s:gsub("%s", "")))
print(("hello world from lua"):gsub("(%w+)", "<%1>"))
print(("abc"):gsub("%w", "%0%0"), ("x = 1, y = 22"):gsub("(%w+) = (%w+)", "%2 = %1"))
print(("key=val; k2=v2"):gsub("(%w+)=(%w+)", function(k, v) return v .. "=" .. k end))
print(("$name is $age"):gsub("%$(%w+)", {name = "Ana", age = 7}))
print(string.byte("ABC", 1, -1), string.char(72, 105), ("%d"):rep(3, " "))
print(("  trim me  "):match("^%s*(.-)%s*$") .. "|", ("THE (quick) fox"):find("%((%a+)%)"))
print(("2024-05-17"):match("(%d+)-(%d+)-(%d+)"))
print(("[[balanced]]"):match("%b[]"), ("f(a(b)c)d"):match("%b()"), ("THE (quick) fox"):match("%f[%a]%a+", 5))
print(string.reverse("stressed"), ("a,b,,c"):find(",,", 1, true), ("x"):rep(0) == "")
print(utf8.char(72, 228, 8364, 128512), utf8.len("h\u{e4}\u{20ac}"), #utf8.char(128512))
for p, c in utf8.codes("a\u{e9}b") do io.write(p, ":", c, " ") end
print()
print(tostring(nil), tostring(true), tostring(12), tostring(1.5), tostring("s"))
print(("%q"):format("line1\nline2\t\0end"))
