#!/usr/bin/env bash
# realworld.sh — the headline comparison (README.md, "How it compares (measured)"):
# zlib 1.2.13, Lua 5.4.4 and SQLite 3.40.1 (Debian's source packages) built as
# Windows x64 DLLs (x86_64-w64-mingw32, clang-19, -O2) three ways in one run:
#
#   plain   clang -O2, linked by lld                                   (the baseline)
#   clang   clang's own route: -fms-hotpatch -ffunction-sections -g -gcodeview,
#           lld's /functionpadmin (MinGW driver: -Wl,-Xlink=/functionpadmin)
#   hot     the plugin (-fplugin=hotpatch-plugin.so), linked by hotpatch-link
#           (-fuse-ld=hotpatch-link): what hotpatch-cc runs
#
# and measures, each against the plain build of the same run:
#   - exports, and how many are patchable (hotpatch-audit --format json; for
#     hot also hotpatch-link's <dll>.hpmap: exported functions patchable);
#   - hot, hotpatch-audit --all: the functions the plugin compiled (those with a
#     record in its .hotp table) apart from the MinGW CRT/startup code it did not;
#   - .text size (llvm-objdump -h);
#   - compile CPU (user+sys, summed over the units) and peak RSS (max over the
#     compiles), and the same for the link: BUILD_REPS rounds, each unit compiled
#     by the three variants back to back (rotating order); ratios per round,
#     median over the rounds;
#   - call overhead of one unpatched export (adler32, lua_gettop,
#     sqlite3_libversion_number) called in a tight loop by call_host.exe under
#     Wine: CALL_ROUNDS rounds, each running the three builds back to back, one
#     process each, CALL_REPS timed loops per process (the median); a round's
#     ratio is a build's median over plain's; the median and the spread of the
#     rounds' ratios are reported.
#
# Prints a Markdown table and one "RESULT ..." line per metric (also kept in
# WORK/report.md; the builds, audits and call logs stay in WORK/out and WORK/call).
# About 7 minutes on 2 cores, most of it compiling SQLite 9 times. Exits 1 when a
# build fails or when the hot DLL does not have 100% of its exports patchable by
# the audit (or its map disagrees), 2 on a bad command line or a missing tool.
#
# usage: realworld.sh --build DIR [--work DIR] [--clang PATH] [--plugin PATH]
#                     [--link PATH] [--audit PATH] [--objdump PATH] [--wine PATH]
#   --build DIR   hotpatch build tree (plugin/hotpatch-plugin.so,
#                 lld-pass/hotpatch-link, audit/hotpatch-audit)
#   --work DIR    sources, builds and results (default DIR/tests/bench/realworld)
# environment: BUILD_REPS (default 3), CALL_ROUNDS (default 9), CALL_REPS (default
#   11), CALLS (calls per timed loop, default 0: about 40 ms, found by the first
#   process), ONLY (default "zlib lua sqlite")
#
# Sources: `apt-get source --download-only` (deb-src: scripts/setup-deps) into
# WORK/src, unpacked from the orig tarball, reused when present; never committed.
# The recipes are the projects' own: zlib's ZLIB_SRCS (its CMakeLists.txt, with
# its DLL define ZLIB_DLL and _LARGEFILE64_SOURCE as it sets for MinGW), Lua's
# CORE_O, LIB_O and CFLAGS of `make mingw` (read from its Makefile), SQLite's
# amalgamation made by its own `make sqlite3.c` with the CFLAGS of
# tests/realworld/sqlite/Makefile (SQLITE_API=__declspec(dllexport)).
set -euo pipefail

cmdline="$0 $*"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
TRIPLE=x86_64-w64-mingw32
BUILD_REPS=${BUILD_REPS:-3}
CALL_ROUNDS=${CALL_ROUNDS:-9}
CALL_REPS=${CALL_REPS:-11}
CALLS=${CALLS:-0}
ONLY=${ONLY:-zlib lua sqlite}

die() { printf 'realworld: error: %s\n' "$*" >&2; exit 2; }
fail() { printf 'realworld: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf 'realworld: %s\n' "$*" >&2; }

build='' work='' clang='' plugin='' link='' audit='' objdump='' wine=''
while [ $# -gt 0 ]; do
  case "$1" in
    --build|--work|--clang|--plugin|--link|--audit|--objdump|--wine)
      [ $# -ge 2 ] || die "$1 needs a value"
      v=${1#--}; printf -v "$v" '%s' "$2"; shift 2 ;;
    --build=*|--work=*|--clang=*|--plugin=*|--link=*|--audit=*|--objdump=*|--wine=*)
      v=${1%%=*}; v=${v#--}; printf -v "$v" '%s' "${1#*=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (--help)" ;;
  esac
done
[ -n "$build" ] || { [ -n "$plugin" ] && [ -n "$link" ] && [ -n "$audit" ] && [ -n "$work" ]; } ||
  die "--build DIR (a hotpatch build tree) is required, or all of --plugin, --link, --audit and --work (--help)"
if [ -n "$build" ]; then
  [ -d "$build" ] || die "--build: no directory '$build'"
  build=$(cd "$build" && pwd)
fi
plugin=${plugin:-$build/plugin/hotpatch-plugin.so}
link=${link:-$build/lld-pass/hotpatch-link}
audit=${audit:-$build/audit/hotpatch-audit}
work=${work:-$build/tests/bench/realworld}
find_tool() { # VAR NAME... : the first NAME on PATH or in /usr/lib/llvm-19/bin
  local var=$1 n; shift
  [ -n "${!var}" ] && return 0
  for n in "$@"; do
    if command -v "$n" >/dev/null 2>&1; then printf -v "$var" '%s' "$(command -v "$n")"; return 0; fi
    if [ -x "/usr/lib/llvm-19/bin/$n" ]; then printf -v "$var" '%s' "/usr/lib/llvm-19/bin/$n"; return 0; fi
  done
  die "none of '$*' found (scripts/setup-deps installs it)"
}
find_tool clang clang-19
find_tool objdump llvm-objdump-19 llvm-objdump
find_tool wine wine64 wine
for t in apt-get tar make awk; do command -v "$t" >/dev/null || die "'$t' not found (scripts/setup-deps)"; done
[ -f "$plugin" ] || die "no plugin at '$plugin' (build the target hotpatch-plugin)"
[ -x "$link" ] || die "no hotpatch-link at '$link' (build the target hotpatch-link)"
[ -x "$audit" ] || die "no hotpatch-audit at '$audit' (build the target hotpatch-audit)"
case "$BUILD_REPS$CALL_ROUNDS$CALL_REPS$CALLS" in
  *[!0-9]*) die "BUILD_REPS, CALL_ROUNDS, CALL_REPS and CALLS are whole numbers";;
esac
[ "$BUILD_REPS" -ge 1 ] && [ "$CALL_ROUNDS" -ge 1 ] && [ "$CALL_REPS" -ge 1 ] ||
  die "BUILD_REPS, CALL_ROUNDS and CALL_REPS must be at least 1"
mkdir -p "$work"
work=$(cd "$work" && pwd)
t_start=$(date +%s)

# --- helpers: the cost recorder (native) and the call host (Windows) --------
mkdir -p "$work/tools"
rusage=$work/tools/rusage
"$clang" -std=c11 -O2 -Wall -Wextra -Werror "$here/rusage.c" -o "$rusage" ||
  die "cannot build $here/rusage.c natively with $clang"
host=$work/tools/call_host.exe
"$clang" --target=$TRIPLE -std=c11 -O2 -Wall -Wextra -Werror -fuse-ld=lld "$here/call_host.c" -o "$host" ||
  die "cannot build $here/call_host.c for $TRIPLE (mingw-w64, lld-19)"

# --- sources ------------------------------------------------------------------
src=$work/src
mkdir -p "$src"
debian_source() { # PACKAGE UNPACKED PROBE: Debian's source package, its orig tarball unpacked in $src
  [ -f "$src/$2/$3" ] && return 0
  say "fetching Debian's $1 source into $src"
  (cd "$src" && "$root/scripts/debian-source" --download-only "$1" >"apt-$1.log" 2>&1) ||
    die "apt-get source $1 failed (deb-src entries: scripts/setup-deps): $(tail -n 5 "$src/apt-$1.log")"
  local orig='' f
  for f in "$src/$1"_*.orig.tar.*; do
    case $f in *.asc) ;; *) [ -f "$f" ] && { orig=${f##*/}; break; } ;; esac
  done
  [ -n "$orig" ] || die "no orig tarball of $1 in $src"
  (cd "$src" && tar xf "$orig") || die "cannot unpack $src/$orig"
  [ -f "$src/$2/$3" ] || die "$src/$orig did not give $2/$3 (another version of $1?)"
}
zsrc=$src/zlib-1.2.13.dfsg
lsrc=$src/lua-5.4.4/src
amalg=$src/sqlite3-amalgamation
for lib in $ONLY; do
  case $lib in
    zlib) debian_source zlib zlib-1.2.13.dfsg CMakeLists.txt ;;
    lua) debian_source lua5.4 lua-5.4.4 src/Makefile ;;
    sqlite)
      debian_source sqlite3 sqlite3-3.40.1 configure
      if [ ! -f "$amalg/sqlite3.c" ] || [ ! -f "$amalg/sqlite3.h" ]; then
        say "making SQLite's amalgamation (its own configure and make, natively; needs tclsh)"
        mkdir -p "$amalg"
        (cd "$amalg" && { [ -f Makefile ] || "$src/sqlite3-3.40.1/configure" CC="$clang" >configure.log 2>&1; } &&
          make -j2 sqlite3.c sqlite3.h >make.log 2>&1) ||
          die "SQLite's \`make sqlite3.c\` failed: see $amalg/configure.log and $amalg/make.log"
      fi ;;
    *) die "ONLY: unknown codebase '$lib' (zlib lua sqlite)" ;;
  esac
done

# --- the three variants -----------------------------------------------------
VARIANTS="plain clang hot"
vflags() { # the compile flags a variant adds
  case $1 in
    plain) ;;
    clang) echo "-fms-hotpatch -ffunction-sections -g -gcodeview" ;;
    hot) echo "-fplugin=$plugin" ;;
  esac
}
lflags() { # the link flags of a variant
  case $1 in
    plain) echo "-fuse-ld=lld" ;;
    clang) echo "-fuse-ld=lld -Wl,-Xlink=/functionpadmin" ;;
    hot) echo "-fuse-ld=$link" ;;
  esac
}
# recipe LIB: sets r_dir (sources), r_units, r_cflags (array), r_dll, r_export, r_name
recipe() {
  case $1 in
    zlib)
      # libzlib.dll, as zlib's CMakeLists names it for MinGW (zlib1.dll is a Wine builtin, which Wine loads instead)
      r_name="zlib 1.2.13" r_dir=$zsrc r_dll=libzlib.dll r_export=adler32
      r_units=$(sed -n '/^set(ZLIB_SRCS/,/)/p' "$zsrc/CMakeLists.txt" | sed '1d;$d' | tr -d ' \t' | tr '\n' ' ')
      r_cflags=(-O2 -DZLIB_DLL -D_LARGEFILE64_SOURCE=1 "-I$zsrc") ;;
    lua)
      r_name="Lua 5.4.4" r_dir=$lsrc r_dll=lua54.dll r_export=lua_gettop
      local mk=(make -s -C "$lsrc" --eval 'print-%: ; @echo $($*)' SYSCFLAGS=-DLUA_BUILD_AS_DLL)
      r_units=$("${mk[@]}" print-CORE_O print-LIB_O | tr '\n' ' ' | sed 's/[.]o\b/.c/g')
      read -r -a r_cflags <<<"$("${mk[@]}" print-CFLAGS)" ;;
    sqlite)
      r_name="SQLite 3.40.1" r_dir=$amalg r_dll=sqlite3.dll r_export=sqlite3_libversion_number r_units=sqlite3.c
      read -r -a r_cflags <<<"$(make -s -f "$root/tests/realworld/sqlite/Makefile" --eval 'print-%: ; @echo $($*)' \
        print-CFLAGS AMALG="$amalg")"
      r_cflags+=('-DSQLITE_API=__declspec(dllexport)') ;;
  esac
  [ -n "$r_units" ] && [ "${#r_cflags[@]}" -gt 0 ] || die "could not read the $1 recipe from its build files"
}

out=$work/out
rm -rf "$out"
for lib in $ONLY; do
  recipe "$lib"
  for v in $VARIANTS; do mkdir -p "$out/$lib/$v"; done
  say "$r_name: $(echo $r_units | wc -w) unit(s), CFLAGS ${r_cflags[*]}; $BUILD_REPS round(s)"
  for ((round = 1; round <= BUILD_REPS; round++)); do
    for unit in $r_units; do
      [ -f "$r_dir/$unit" ] || die "$r_name: no unit $r_dir/$unit"
      # the three variants of one unit back to back, in an order that rotates with the round
      set -- $VARIANTS
      for ((k = 0; k < 3; k++)); do
        i=$(((k + round) % 3 + 1)); v=${!i}
        d=$out/$lib/$v
        # shellcheck disable=SC2046
        "$rusage" "$d/compile.$round" "$clang" --target=$TRIPLE "${r_cflags[@]}" $(vflags $v) \
          -c "$r_dir/$unit" -o "$d/${unit%.c}.o" >>"$d/build.log" 2>&1 ||
          { tail -n 30 "$d/build.log" >&2; fail "$r_name ($v): compiling $unit failed (log: $d/build.log)"; }
      done
    done
    for v in $VARIANTS; do
      d=$out/$lib/$v
      objs=()
      for unit in $r_units; do objs+=("$d/${unit%.c}.o"); done
      rm -f "$d/$r_dll" "$d/$r_dll.hpmap"
      # shellcheck disable=SC2046
      "$rusage" "$d/link.$round" "$clang" --target=$TRIPLE -shared $(lflags $v) "${objs[@]}" -o "$d/$r_dll" \
        >>"$d/build.log" 2>&1 ||
        { tail -n 30 "$d/build.log" >&2; fail "$r_name ($v): linking $r_dll failed (log: $d/build.log)"; }
    done
  done
done
wait_build=$(date +%s)

# --- measurements -------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit} m = int((NR + 1) / 2); print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2}'; }
# cost FILE: "<cpu seconds summed> <max rss KiB>" of the rusage lines of FILE
cost() { awk '{cpu += $1 + $2; if ($3 > rss) rss = $3} END {printf "%.4f %d\n", cpu, rss}' "$1"; }
json_num() { # KEY FILE: the first number after "KEY": in FILE
  grep -o "\"$1\": [0-9.]*" "$2" | head -n 1 | awk '{print $2}'
}
text_size() { # DLL: the size of .text in bytes
  local hex
  hex=$("$objdump" -h "$1" | awk '$2 == ".text" {print $3; exit}')
  [ -n "$hex" ] || fail "$1 has no .text section"
  echo $((16#$hex))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0) ? a / b : 0}'; }
f2() { awk -v x="$1" 'BEGIN {printf "%.2f", x}'; }
f3() { awk -v x="$1" 'BEGIN {printf "%.3f", x}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b > 0) ? 100 * a / b : 0}'; }

export WINEPREFIX=$work/wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  say "creating the Wine prefix $WINEPREFIX"
  "$wine" wineboot --init >/dev/null 2>&1 || die "wineboot --init failed in $WINEPREFIX"
fi
wineserver=$(dirname "$wine")/wineserver
[ -x "$wineserver" ] || wineserver=$(command -v wineserver || true)
if [ -n "$wineserver" ]; then # one server for the whole run (not one per call_host), stopped at the end
  "$wineserver" -p >/dev/null 2>&1 || true
  trap '"$wineserver" -k >/dev/null 2>&1 || true' EXIT
fi

results=$work/results.txt
: >"$results"
res() { echo "RESULT $*" >>"$results"; }
status=0
declare -A T CPU RSS RCPU RRSS SPREAD NS CR CQ CM col_name row_exports row_plain row_clang row_hot row_all \
  row_text row_cpu row_rss row_link row_call row_noise
mkdir -p "$work/call/plain" "$work/call/clang" "$work/call/hot"
for lib in $ONLY; do
  recipe "$lib"
  declare -A E=() P=()
  for v in $VARIANTS; do
    d=$out/$lib/$v
    rc=0
    "$audit" --format json "$d/$r_dll" >"$d/audit.json" 2>"$d/audit.err" || rc=$?
    [ "$rc" -le 1 ] || fail "hotpatch-audit could not read $d/$r_dll: $(cat "$d/audit.err")"
    E[$v]=$(json_num exports_checked "$d/audit.json")
    P[$v]=$(json_num exports_patchable "$d/audit.json")
    res "lib=$lib metric=exports variant=$v value=${E[$v]}"
    res "lib=$lib metric=exports_patchable variant=$v value=${P[$v]} percent=$(pct "${P[$v]}" "${E[$v]}")"
    T[$v]=$(text_size "$d/$r_dll") || exit 1
    res "lib=$lib metric=text_bytes variant=$v value=${T[$v]} ratio=$(ratio "${T[$v]}" "${T[plain]}")"
    for phase in compile link; do
      for ((round = 1; round <= BUILD_REPS; round++)); do
        cost "$d/$phase.$round" >"$d/$phase.$round.cost"
      done
    done
  done
  # compile and link: per-round ratios against plain, median over the rounds
  for phase in compile link; do
    for v in $VARIANTS; do
      for ((round = 1; round <= BUILD_REPS; round++)); do
        read -r c m <"$out/$lib/$v/$phase.$round.cost"
        read -r pc pm <"$out/$lib/plain/$phase.$round.cost"
        echo "$c" >&3; echo "$m" >&4; ratio "$c" "$pc" >&5; echo >&5; ratio "$m" "$pm" >&6; echo >&6
      done 3>"$work/.cpu" 4>"$work/.rss" 5>"$work/.rcpu" 6>"$work/.rrss"
      CPU[$phase.$v]=$(median <"$work/.cpu"); RSS[$phase.$v]=$(median <"$work/.rss")
      RCPU[$phase.$v]=$(median <"$work/.rcpu"); RRSS[$phase.$v]=$(median <"$work/.rrss")
      SPREAD[$phase.$v]=$(sort -g "$work/.rcpu" | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}')
      res "lib=$lib metric=${phase}_cpu_s variant=$v value=${CPU[$phase.$v]} ratio=${RCPU[$phase.$v]} range=${SPREAD[$phase.$v]} rounds=$BUILD_REPS"
      res "lib=$lib metric=${phase}_peak_rss_kib variant=$v value=${RSS[$phase.$v]} ratio=${RRSS[$phase.$v]}"
    done
  done
  # the hot build: its map, and --all split by whether the plugin compiled the function
  d=$out/$lib/hot
  map=$d/$r_dll.hpmap
  [ -f "$map" ] || { status=1; say "FAIL: $map is missing: hotpatch-link did not write its map"; }
  # the map's function rows, read by the columns its "function_fields" names (C names hold no comma)
  read -r MAPX MAPP MAPT <<<"$(awk '
      /"function_fields": \[/ { s = $0; sub(/.*"function_fields": \[/, "", s); sub(/\].*/, "", s)
                                 n = split(s, c, /, */); for (i = 1; i <= n; i++) { gsub(/"/, "", c[i]); col[c[i]] = i } }
      /"functions": \[/ { in_fns = 1; next }
      in_fns && /^  \]/ { in_fns = 0 }
      in_fns && /^    \[/ { r = $0; sub(/^    \[/, "", r); sub(/\],?$/, "", r); split(r, v, ",")
                            e = v[col["exported"]] == 1; x += e; p += e && v[col["patchable"]] == 1; t += v[col["table"]] == 1 }
      END { printf "%d %d %d\n", x, p, t }' "$map" 2>/dev/null || echo "0 0 0")"
  res "lib=$lib metric=map_exports_patchable variant=hot value=$MAPP of=$MAPX"
  rc=0
  "$audit" --all --format json "$d/$r_dll" >"$d/audit-all.json" 2>"$d/audit-all.err" || rc=$?
  [ "$rc" -le 1 ] || fail "hotpatch-audit --all could not read $d/$r_dll: $(cat "$d/audit-all.err")"
  read -r TT TP OT OP <<<"$(grep '"sources": \[' "$d/audit-all.json" | awk '{
      s = $0; sub(/.*"sources": \[/, "", s); sub(/\].*/, "", s)
      ok = index($0, "\"patchable\": true") > 0
      if (index(s, "\"table\"")) {tt++; tp += ok} else {ot++; op += ok}
    } END {printf "%d %d %d %d\n", tt, tp, ot, op}')"
  res "lib=$lib metric=all_plugin_compiled_patchable variant=hot value=$TP of=$TT map_table=$MAPT percent=$(pct "$TP" "$TT")"
  res "lib=$lib metric=all_not_plugin_compiled_patchable variant=hot value=$OP of=$OT percent=$(pct "$OP" "$OT")"
  if [ -z "${E[hot]}" ] || [ "${E[hot]}" -eq 0 ] || [ "${P[hot]}" != "${E[hot]}" ]; then
    status=1; say "FAIL: $r_name: the hot DLL has ${P[hot]:-?} of ${E[hot]:-?} exports patchable by the audit (must be all)"
  fi
  if [ "$MAPP" != "${E[hot]}" ] || [ "$MAPX" != "${E[hot]}" ]; then
    status=1; say "FAIL: $r_name: the map has $MAPP patchable of $MAPX exported functions, the audit ${E[hot]} exports"
  fi
  # the call overhead: one process per build and round (call_host.c says why), the builds of a
  # round back to back in a rotating order; a round's ratio is a build's median over plain's
  calls=$CALLS
  : >"$work/call/$lib.txt"
  for ((round = 1; round <= CALL_ROUNDS; round++)); do
    set -- $VARIANTS
    for ((k = 0; k < 3; k++)); do
      i=$(((k + round) % 3 + 1)); v=${!i}
      cp "$out/$lib/$v/$r_dll" "$work/call/$v/$r_dll"
      for attempt in 1 2; do # a Wine start can fail on a loaded machine: once more, said
        rc=0
        "$wine" "$host" "$r_export" "$calls" "$CALL_REPS" "Z:$(echo "$work/call/$v/$r_dll" | tr / '\\')" \
          >"$work/call/$lib.out" 2>"$work/call/$lib.err" || rc=$?
        [ "$rc" -ne 0 ] && [ "$attempt" -eq 1 ] && ! [ -s "$work/call/$lib.out" ] && [ "$rc" -ne 2 ] || break
        say "call_host ($r_export, $v) under Wine exited $rc without output: once more"
      done
      [ "$rc" -eq 0 ] || fail "call_host ($r_export, $v) under Wine exited $rc: $(cat "$work/call/$lib.out" "$work/call/$lib.err")"
      line=$(tr -d '\r' <"$work/call/$lib.out" | tr '\n' ' ')
      [ "$calls" -gt 0 ] || calls=$(echo "$line" | tr ' ' '\n' | sed -n 's/^calls=//p')
      echo "round=$round variant=$v $line" >>"$work/call/$lib.txt"
    done
  done
  # field ROUND VARIANT KEY
  field() { awk -v r="round=$1" -v v="variant=$2" -v k="$3=" '$1 == r && $2 == v {
      for (i = 3; i <= NF; i++) if (index($i, k) == 1) {print substr($i, length(k) + 1); exit} }' "$work/call/$lib.txt"; }
  for v in $VARIANTS; do
    for ((round = 1; round <= CALL_ROUNDS; round++)); do
      field "$round" "$v" median_ns >&3
      echo "$(ratio "$(field "$round" "$v" median_ns)" "$(field "$round" plain median_ns)")" >&4
    done 3>"$work/.ns" 4>"$work/.ratio"
    NS[$v]=$(median <"$work/.ns")
    CR[$v]=$(f3 "$(median <"$work/.ratio")")
    CQ[$v]=$(sort -g "$work/.ratio" | awk '{v[NR] = $1} END {
      a = 1 + (NR - 1) * 0.25; b = 1 + (NR - 1) * 0.75
      printf "%.3f–%.3f", v[int(a)] + (a - int(a)) * (v[int(a) + 1] - v[int(a)]), v[int(b)] + (b - int(b)) * (v[int(b) + 1] - v[int(b)])}')
    CM[$v]=$(sort -g "$work/.ratio" | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.3f–%.3f", lo, hi}')
    NSQ=$(sort -g "$work/.ns" | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.3f-%.3f", lo, hi}')
    res "lib=$lib metric=call_ns variant=$v export=$r_export value=$(f3 "${NS[$v]}") range=$NSQ calls=$calls rounds=$CALL_ROUNDS reps=$CALL_REPS"
    [ "$v" = plain ] || res "lib=$lib metric=call_ratio variant=$v value=${CR[$v]} iqr=${CQ[$v]} range=${CM[$v]} rounds=$CALL_ROUNDS"
  done

  # this codebase's column of the table
  col_name[$lib]=$r_name
  row_exports[$lib]="${E[plain]}"
  row_plain[$lib]="${P[plain]} ($(pct "${P[plain]}" "${E[plain]}")%)"
  row_clang[$lib]="${P[clang]} ($(pct "${P[clang]}" "${E[clang]}")%)"
  row_hot[$lib]="**${P[hot]} ($(pct "${P[hot]}" "${E[hot]}")%)** / $MAPP"
  row_all[$lib]="$TP/$TT ($(pct "$TP" "$TT")%); $OP/$OT"
  row_text[$lib]="${T[plain]} B; ×$(ratio "${T[clang]}" "${T[plain]}") / ×$(ratio "${T[hot]}" "${T[plain]}")"
  row_cpu[$lib]="$(f2 "${CPU[compile.plain]}") s; ×${RCPU[compile.clang]} / ×${RCPU[compile.hot]}"
  row_rss[$lib]="$(awk -v k="${RSS[compile.plain]}" 'BEGIN {printf "%.0f", k / 1024}') MiB; ×${RRSS[compile.clang]} / ×${RRSS[compile.hot]}"
  row_link[$lib]="$(f2 "${CPU[link.plain]}") s; ×${RCPU[link.clang]} / ×${RCPU[link.hot]}"
  row_call[$lib]="\`$r_export\` $(f2 "${NS[plain]}") ns; ×${CR[clang]} / ×${CR[hot]}"
  row_noise[$lib]="${CQ[clang]} / ${CQ[hot]} (all: ${CM[clang]} / ${CM[hot]})"
  unset E P
done
t_end=$(date +%s)

# --- report ------------------------------------------------------------------
{
  echo
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) core(s), $("$clang" --version | head -n 1), in $((t_end - t_start)) s:"
  echo "$cmdline"
  echo "Ratios are against the plain build (\`clang -O2\`, lld) of the same run; \"clang\" is clang's own route"
  echo "(\`-fms-hotpatch -ffunction-sections -g -gcodeview\`, \`-Wl,-Xlink=/functionpadmin\`), \"hotpatch\" the plugin"
  echo "and hotpatch-link. Build figures: median of $BUILD_REPS round(s); calls:"
  echo "median of $CALL_ROUNDS rounds of one process per build, each the median of $CALL_REPS loops of $calls calls."
  echo
  printf '| |'; for lib in $ONLY; do printf ' %s |' "${col_name[$lib]}"; done; echo
  printf '|---|'; for lib in $ONLY; do printf -- '---|'; done; echo
  row() { printf '| %s |' "$1"; local -n r=$2; for lib in $ONLY; do printf ' %s |' "${r[$lib]}"; done; echo; }
  row "exported functions" row_exports
  row "patchable exports, plain \`clang -O2\`" row_plain
  row "patchable exports, clang's route" row_clang
  row "patchable exports, hotpatch (audit / map)" row_hot
  row "hotpatch, \`--all\`: patchable functions it compiled; MinGW CRT/startup code it did not" row_all
  row "\`.text\` plain; clang's route / hotpatch" row_text
  row "compile CPU plain; clang's route / hotpatch" row_cpu
  row "compiler peak RSS plain; clang's route / hotpatch" row_rss
  row "link CPU plain; clang's route / hotpatch" row_link
  row "call, unpatched export: ns plain; clang's route / hotpatch" row_call
  row "call ratio spread, p25–p75 (min–max): clang's route / hotpatch" row_noise
  echo
  cat "$results"
  echo "RESULT metric=bench_seconds value=$((t_end - t_start)) build_seconds=$((wait_build - t_start))"
} | tee "$work/report.md"
[ "$status" -eq 0 ] || fail "the hotpatch build of a codebase did not reach 100% patchable exports (above)"
