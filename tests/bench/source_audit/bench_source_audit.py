#!/usr/bin/env python3
"""bench_source_audit.py — the source audit against clang's own parse, in one run.

For SQLite's amalgamation and for Lua's files (Debian's sqlite3 and lua5.4 source packages, fetched
into the build tree with tests/audit/source/debian_source.cmake), a compilation database is made by
CMake (MinGW toolchain: the product's target) and timed two ways with the same parallelism J (every
online processor):

  baseline  every command of the database, run as `<its compiler> <its arguments> -fsyntax-only -w`,
            J at a time (the audit parses with warnings off too, so both do the same work; the
            baseline without -w is printed as well);
  audit     `hotpatch-audit --source <database> -j J`.

Runs alternate (baseline, audit, audit, baseline, ...) after one warm-up each; the medians are
compared. Exit 1 when a ratio is above --max-ratio. Needs tclsh to make the amalgamation (Debian
package tcl), and cmake, clang-19 and the MinGW headers as the build does.
"""
import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def fetch(args, package):
    out = subprocess.run([args.cmake, f"-DPACKAGE={package}", f"-DCACHE={args.cache}", "-P", args.fetch],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith(f"-- {package}: "):
            return line.split(": ", 1)[1]
    sys.exit(f"bench: fetching {package} said nothing of its directory:\n{out}")


def sqlite_amalgamation(args, src):
    """sqlite3.c and shell.c, made once from the source tree (its Makefile runs tclsh)."""
    out = os.path.join(args.work, "sqlite-amalgamation")
    if os.path.exists(os.path.join(out, "sqlite3.c")) and os.path.exists(os.path.join(out, "shell.c")):
        return out
    if not shutil.which("tclsh"):
        sys.exit("bench: making SQLite's amalgamation needs tclsh (Debian package tcl)")
    os.makedirs(out, exist_ok=True)
    env = dict(os.environ, CC=args.clang)
    subprocess.run([os.path.join(src, "configure"), "--disable-tcl"], cwd=out, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["make", "sqlite3.c", "shell.c"], cwd=out, env=env, check=True, stdout=subprocess.DEVNULL)
    return out


def configure(args, name, project, define):
    build = os.path.join(args.work, name)
    subprocess.run([args.cmake, "-S", project, "-B", build, "-G", args.generator,
                    f"-DCMAKE_TOOLCHAIN_FILE={args.toolchain}", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON", define],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(build, "compile_commands.json")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def baseline(db, jobs, extra):
    entries = json.load(open(db))

    def one(e):
        argv = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        r = subprocess.run(argv + ["-fsyntax-only"] + extra, cwd=e["directory"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"bench: the baseline failed on {e['file']}:\n{r.stderr}")

    t, c = time.monotonic(), children_cpu()
    with ThreadPoolExecutor(jobs) as ex:
        list(ex.map(one, entries))
    return time.monotonic() - t, children_cpu() - c, len(entries)


def audit(args, db, jobs):
    t, c = time.monotonic(), children_cpu()
    r = subprocess.run([args.audit, "--source", db, "-j", str(jobs), "--quiet"], capture_output=True, text=True)
    elapsed, cpu = time.monotonic() - t, children_cpu() - c
    if r.returncode not in (0, 1):
        sys.exit(f"bench: hotpatch-audit failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    return elapsed, cpu, r.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for opt in ("audit", "clang", "cmake", "generator", "toolchain", "fetch", "cache", "lua-project",
                "sqlite-project", "work"):
        p.add_argument(f"--{opt}", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--max-ratio", type=float, default=1.5)
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)

    lua = fetch(args, "lua5.4")
    sqlite = sqlite_amalgamation(args, fetch(args, "sqlite3"))
    dbs = [("SQLite amalgamation", configure(args, "sqlite-db", args.sqlite_project, f"-DSQLITE_DIR={sqlite}")),
           ("Lua", configure(args, "lua-db", args.lua_project, f"-DLUA_DIR={lua}"))]

    failed = False
    print(f"source audit vs clang -fsyntax-only, same database, -j {args.jobs}, median of {args.runs} "
          f"(alternating, after a warm-up)")
    for name, db in dbs:
        baseline(db, args.jobs, ["-w"])
        audit(args, db, args.jobs)
        base, base_cpu, base_plain, aud, aud_cpu = [], [], [], [], []
        for i in range(args.runs):
            order = ("b", "a") if i % 2 == 0 else ("a", "b")
            for what in order:
                if what == "b":
                    t, c, units = baseline(db, args.jobs, ["-w"])
                    base.append(t)
                    base_cpu.append(c)
                else:
                    t, c, report = audit(args, db, args.jobs)
                    aud.append(t)
                    aud_cpu.append(c)
            base_plain.append(baseline(db, args.jobs, [])[0])
        mb, ma, mp = statistics.median(base), statistics.median(aud), statistics.median(base_plain)
        cpu_ratio = statistics.median(aud_cpu) / statistics.median(base_cpu)
        ratio = ma / mb
        summary = [l.strip() for l in report.splitlines() if l.strip().startswith("source:")]
        findings = sum(1 for l in report.splitlines() if l.startswith("  ERROR ") or l.startswith("  note "))
        print(f"{name}: {units} units; clang -fsyntax-only -w {mb:.3f} s (without -w {mp:.3f} s); "
              f"hotpatch-audit --source {ma:.3f} s; ratio {ratio:.2f} (without -w {ma / mp:.2f}); "
              f"{findings} error finding(s); {summary[0] if summary else ''}")
        print(f"  runs: baseline {' '.join(f'{t:.3f}' for t in base)}; audit {' '.join(f'{t:.3f}' for t in aud)}; "
              f"CPU time (user+sys) ratio {cpu_ratio:.2f}")
        if ratio > args.max_ratio:
            print(f"  FAIL: {ratio:.2f} > {args.max_ratio}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
