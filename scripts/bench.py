#!/usr/bin/env python3
"""Times storage-ctl on a simulated drive against sg_persist -V and /bin/true.

Each command is run N times as a fresh process (as Bacula runs it), interleaved so drift hits
every column alike. A tiny C spawner (bench-spawn.c) forks, execs and wait4s each run: wall time
from a monotonic clock, peak RSS from the child's rusage (a child forked from Python would inherit
Python's ~10 MB high-water mark). Medians only: these machines are noisy, so compare ratios taken
in the same run.

usage: bench.py BINARY RUNS SPAWN [--baseline BINARY]
  --baseline: a second build (an older commit) timed in the same loop, each verb on its own drive,
  for before/after columns from one run.
"""
import os, statistics, subprocess, sys, tempfile

SPAWN = None
VERBS = ["--version", "regkeys", "status", "trylock", "unlock", "lock+unlock cycle"]

def run(argv):
    out = subprocess.run([SPAWN, "1", *argv], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]) / 1e6, int(out[1]), int(out[2])

class Build:
    """One binary with a simulated drive and a configuration of its own."""
    def __init__(self, label, binary, work):
        self.label, self.binary = label, binary
        self.drive = os.path.join(work, f"drive-{label}")
        open(self.drive, "w").close()
        # a simulated drive exists only once made (`create`); a binary from before that took an empty file for one
        subprocess.run([binary, self.drive, "create"], capture_output=True)
        self.conf = os.path.join(work, f"{label}.conf")
        with open(self.conf, "w") as f:
            f.write("key=bac001\ninitiator=iqn.2024-01.com.example:bench\n")
        os.chmod(self.conf, 0o600)
        self.samples = {verb: [] for verb in VERBS}
        assert run(self.sc("register"))[2] == 0

    def sc(self, *args):
        return [self.binary, "-c", self.conf, self.drive, *args]

    def round(self):
        s = self.samples
        s["--version"].append(run([self.binary, "--version"]))
        s["regkeys"].append(run(self.sc("regkeys")))
        st = run(self.sc("status")); assert st[2] in (0, 1), st
        s["status"].append(st)
        t = run(self.sc("trylock")); assert t[2] == 0, t
        s["trylock"].append(t)
        u = run(self.sc("unlock")); assert u[2] == 0, u
        s["unlock"].append(u)
        a = run(self.sc("lock")); b = run(self.sc("unlock"))
        assert a[2] == 0 and b[2] == 0
        s["lock+unlock cycle"].append((a[0] + b[0], max(a[1], b[1]), 0))

def median(samples, i=0):
    return statistics.median(x[i] for x in samples)

def main():
    global SPAWN
    args = sys.argv[1:]
    baseline = None
    if "--baseline" in args:
        i = args.index("--baseline")
        baseline = args[i + 1]
        del args[i:i + 2]
    binary = args[0]
    runs = int(args[1]) if len(args) > 1 else 30
    SPAWN = args[2]
    work = tempfile.mkdtemp(prefix="storage-ctl-bench.")
    # The lock records (run_dir) where they live on a Debian host: /run is a tmpfs there. On a disk file
    # system the record's rename costs far more (ext4 flushes a file renamed over another: ~0.6 ms).
    if "STORAGE_CTL_RUN_DIR" not in os.environ and os.path.isdir("/dev/shm"):
        os.environ["STORAGE_CTL_RUN_DIR"] = tempfile.mkdtemp(prefix="storage-ctl-bench-run.", dir="/dev/shm")
    # Each build timed as installed: scripts/package strips the binary, and a static binary's debug
    # information costs its start-up ~0.1 ms here even though it is never read (the larger file).
    def installed(path, label):
        stripped = os.path.join(work, f"storage-ctl-{label}")
        subprocess.run(["strip", "-o", stripped, path], check=True)
        return stripped
    builds = ([Build("before", installed(baseline, "before"), work)] if baseline else []) + \
             [Build("after" if baseline else "this", installed(binary, "this"), work)]
    fixed = {"/bin/true": [], "sg_persist -V": []}
    sg = "/usr/bin/sg_persist"
    for _ in range(runs):
        fixed["/bin/true"].append(run(["/bin/true"]))
        if os.path.exists(sg):
            fixed["sg_persist -V"].append(run([sg, "-V"]))
        for build in builds:
            build.round()

    base = median(fixed["sg_persist -V"]) if fixed["sg_persist -V"] else None
    true = median(fixed["/bin/true"])
    ratio = lambda wall: f"{wall / base:.2f}" if base else "-"
    print(f"storage-ctl bench: {runs} runs each, interleaved, simulated drives in {work}, run_dir {os.environ.get('STORAGE_CTL_RUN_DIR')}")
    for name, s in fixed.items():
        if s:
            print(f"{name:<20} {median(s):>8.2f} ms  RSS {int(median(s, 1)):>6} KiB  x sg_persist -V {ratio(median(s))}  x /bin/true {median(s) / true:.2f}")
    header = f"\n| command |" + "".join(f" {b.label} ms | {b.label} x sg_persist -V | {b.label} peak RSS KiB |" for b in builds)
    print(header)
    print("|---|" + "---:|---:|---:|" * len(builds))
    for verb in VERBS:
        cells = ""
        for b in builds:
            wall = median(b.samples[verb])
            cells += f" {wall:.2f} | {ratio(wall)} | {int(median(b.samples[verb], 1))} |"
        print(f"| {verb} |{cells}")
    for b in builds:
        for f in (b.drive, b.conf, b.binary):
            os.unlink(f)
    os.rmdir(work)
    run_dir = os.environ["STORAGE_CTL_RUN_DIR"]
    if run_dir.startswith("/dev/shm/storage-ctl-bench-run."):
        subprocess.run(["rm", "-rf", run_dir], check=True)

if __name__ == "__main__":
    main()
