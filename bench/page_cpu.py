#!/usr/bin/env python3
"""The web page's cost: its weight (HTML + JS + CSS, raw and gzipped) and the daemon's extra
CPU while a page is open (stdlib + Debian's chromium). Same daemon, same run, alternating
windows, so the ratio holds on a busy machine:

1. no page: the daemon analyses the looping Sports2D clip (process_fps 15) and the demo's
   TUG landmark recording; its CPU time (utime + stime from /proc) over a window;
2. page open: the same window while a headless Chromium shows `/` (both cameras' skeletons
   redrawn at the analysed frame rate, the health polled every 2 s);
   (1 and 2 alternate ROUNDS times). Chromium's own CPU is reported apart: it is the
   viewer's device, not the box.

  bench/page_cpu.py [--window 15] [--rounds 2] [--json]
"""
import argparse, gzip, json, os, shutil, subprocess, tempfile, time

from api_latency import free_port, wait_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PAGE = os.path.join(ROOT, "src/outputs/http/page")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """utime + stime of a process and its reaped children, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def tree_cpu_s(root):
    """CPU of a process and all its live descendants (Chromium's renderer and GPU processes)."""
    total, todo = 0.0, [root]
    while todo:
        p = todo.pop()
        try:
            total += cpu_s(p)
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=float, default=15.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    files = {n: open(os.path.join(PAGE, n), "rb").read() for n in ("index.html", "app.js", "style.css")}
    raw = sum(len(b) for b in files.values())
    gz = sum(len(gzip.compress(b, 9)) for b in files.values())
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    api = free_port()
    work = tempfile.mkdtemp()
    cfg = os.path.join(work, "a.toml")
    with open(cfg, "w") as f:
        f.write(f"""device_id = "bench"
[api]
bind = "127.0.0.1:{api}"
[mqtt]
enabled = false
[[cameras]]
id = "cam0"
source = "file:{ROOT}/tests/fixtures/video/sports2d_640x360.mp4"
loop = true
process_fps = 15
[[cameras]]
id = "tug"
source = "landmarks:{ROOT}/tests/fixtures/tug/test_00167_tug.jsonl"
loop = true
""")
    d = subprocess.Popen([os.path.join(ROOT, "target/release/activityd"), "run", "--config", cfg,
                          "--log-level", "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = {"none": [], "page": []}
    browser_cpu = []
    try:
        wait_port(api)
        time.sleep(5)  # models loaded, cameras streaming
        for _ in range(a.rounds):
            for mode in ("none", "page"):
                b = None
                if mode == "page":
                    b = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                                          f"--user-data-dir={work}/profile", "--no-first-run",
                                          f"http://127.0.0.1:{api}/"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    time.sleep(6)  # page loaded, WebSocket open
                else:
                    time.sleep(2)
                c0, b0, t0 = cpu_s(d.pid), tree_cpu_s(b.pid) if b else 0.0, time.time()
                time.sleep(a.window)
                c1, b1, t1 = cpu_s(d.pid), tree_cpu_s(b.pid) if b else 0.0, time.time()
                rows[mode].append(100.0 * (c1 - c0) / (t1 - t0))
                if b:
                    browser_cpu.append(100.0 * (b1 - b0) / (t1 - t0))
                    b.terminate()
                    b.wait()
    finally:
        d.terminate()
        d.wait()
        shutil.rmtree(work, ignore_errors=True)
    none, page = sum(rows["none"]) / len(rows["none"]), sum(rows["page"]) / len(rows["page"])
    out = {
        "page_bytes": raw, "page_bytes_gzip": gz,
        "files": {n: len(b) for n, b in files.items()},
        "daemon_cpu_pct_no_page": round(none, 2), "daemon_cpu_pct_page_open": round(page, 2),
        "extra_cpu_pct": round(page - none, 2), "ratio": round(page / none, 3) if none else None,
        "chromium_cpu_pct": round(sum(browser_cpu) / len(browser_cpu), 1),
        "windows": {k: [round(v, 2) for v in vs] for k, vs in rows.items()},
    }
    if a.json:
        print(json.dumps(out))
    else:
        print(f"page: {raw} bytes (HTML+JS+CSS), {gz} gzipped; {out['files']}")
        print(f"daemon CPU (% of one core): {none:.1f} without a page, {page:.1f} with one open "
              f"(+{page - none:.2f}, ratio {out['ratio']}); per window {out['windows']}")
        print(f"headless Chromium showing the page: {out['chromium_cpu_pct']}% of one core (the viewer's device)")


if __name__ == "__main__":
    main()
