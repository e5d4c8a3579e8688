#!/usr/bin/env python3
"""Debian shared-library dependencies of a cross-built binary, the way dpkg-shlibdeps works it
out, for targets whose libraries live in an unregistered sysroot (where dpkg-shlibdeps, and so
cargo-deb's `$auto`, find nothing: mmdebstrap --variant=extract registers no package).

For each library the binary needs (ELF NEEDED), the package and the minimal version come from
the host's symbols files (/var/lib/dpkg/info/*.symbols): Debian builds the same versions of
GLib and GStreamer for every architecture from one source, and their symbols files are the
same on all of them. glibc's are not (symbol versions differ per architecture), so libc6's
minimal version is the newest GLIBC_x.y version the binary needs. libgcc-s1 is left out, as
cargo-deb does (-xlibgcc). Run on an x86-64 binary it gives what dpkg-shlibdeps gives
(checked: cross/README.md).

usage: shlibdeps.py BINARY          prints e.g. "libc6 (>= 2.34), libglib2.0-0 (>= 2.12.0), ..."
"""
import glob
import re
import subprocess
import sys


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True, capture_output=True, text=True).stdout


def vkey(v):
    return [int(x) if x.isdigit() else x for x in re.split(r"[.~+-]", v)]


def main():
    binary = sys.argv[1]
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", readelf("-d", binary))
    undefined = set()
    for line in readelf("--dyn-syms", binary).splitlines():
        f = line.split()
        if len(f) >= 8 and f[6] == "UND" and f[7]:
            undefined.add(f[7].split("@")[0])
    glibc = sorted(set(re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", readelf("-V", binary))), key=vkey)

    # soname -> (package, {symbol: minver}) from the host's symbols files
    sections = {}
    for path in glob.glob("/var/lib/dpkg/info/*.symbols"):
        current = None
        with open(path, errors="replace") as f:
            for line in f:
                if not line.strip() or line.startswith(("#", "*", "|")):
                    continue
                if not line.startswith(" "):
                    soname, pkg = line.split()[:2]
                    current = sections.setdefault(soname, (pkg, {}))[1]
                elif current is not None:
                    parts = line.split()
                    if len(parts) >= 2:
                        current[parts[0].split("@")[0]] = parts[1]

    deps = {}
    problems = []
    for soname in needed:
        if soname.startswith("libgcc_s."):
            continue
        if soname.startswith(("ld-linux", "libc.so.", "libm.so.", "libpthread.so.", "libdl.so.")):
            deps["libc6"] = glibc[-1] if glibc else "2.17"
            continue
        if soname not in sections:
            problems.append(f"{soname}: no host symbols file names it (install its amd64 package)")
            continue
        pkg, syms = sections[soname]
        vers = [syms[s] for s in undefined if s in syms and syms[s] != "#MINVER#"]
        minver = max(vers, key=vkey) if vers else None
        old = deps.get(pkg)
        if minver and (old is None or vkey(minver) > vkey(old)):
            deps[pkg] = minver
        elif pkg not in deps:
            deps[pkg] = minver
    if problems:
        sys.exit("shlibdeps.py: " + "; ".join(problems))
    print(", ".join(f"{p} (>= {v})" if v else p for p, v in sorted(deps.items())))


if __name__ == "__main__":
    main()
