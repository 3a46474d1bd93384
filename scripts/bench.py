#!/usr/bin/env python3
"""Times storage-ctl on a simulated drive against sg_persist -V and /bin/true.

Each command is run N times as a fresh process (as Bacula runs it), interleaved so drift hits
every column alike. A tiny C spawner (bench-spawn.c) forks, execs and wait4s each run: wall time
from a monotonic clock, peak RSS from the child's rusage (a child forked from Python would inherit
Python's ~10 MB high-water mark). Medians only: these machines are noisy, so compare ratios taken
in the same run.
"""
import os, statistics, subprocess, sys, tempfile

SPAWN = None

def run(argv):
    out = subprocess.run([SPAWN, "1", *argv], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]) / 1e6, int(out[1]), int(out[2])

def main():
    global SPAWN
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    SPAWN = sys.argv[3]
    work = tempfile.mkdtemp(prefix="storage-ctl-bench.")
    drive = os.path.join(work, "drive0")
    open(drive, "w").close()
    conf = os.path.join(work, "bench.conf")
    with open(conf, "w") as f:
        f.write("key=bac001\ninitiator=iqn.2024-01.com.example:bench\n")
    os.chmod(conf, 0o600)
    sc = lambda *args: [binary, "-c", conf, drive, *args]
    assert run(sc("register"))[2] == 0

    samples = {name: [] for name in ["/bin/true", "sg_persist -V", "regkeys", "trylock", "unlock", "lock+unlock cycle"]}
    sg = "/usr/bin/sg_persist"
    for _ in range(runs):
        samples["/bin/true"].append(run(["/bin/true"]))
        if os.path.exists(sg):
            samples["sg_persist -V"].append(run([sg, "-V"]))
        samples["regkeys"].append(run(sc("regkeys")))
        t = run(sc("trylock")); assert t[2] == 0, t
        samples["trylock"].append(t)
        u = run(sc("unlock")); assert u[2] == 0, u
        samples["unlock"].append(u)
        a = run(sc("lock")); b = run(sc("unlock"))
        assert a[2] == 0 and b[2] == 0
        samples["lock+unlock cycle"].append((a[0] + b[0], max(a[1], b[1]), 0))

    base = statistics.median(s[0] for s in samples["sg_persist -V"]) if samples["sg_persist -V"] else None
    true = statistics.median(s[0] for s in samples["/bin/true"])
    print(f"storage-ctl bench: {runs} runs each, simulated drive on {os.path.dirname(drive)}")
    print(f"{'command':<20} {'median ms':>10} {'peak RSS KiB':>13} {'x sg_persist -V':>16} {'x /bin/true':>12}")
    for name, s in samples.items():
        if not s:
            print(f"{name:<20} {'(not installed)':>10}")
            continue
        wall = statistics.median(x[0] for x in s)
        rss = int(statistics.median(x[1] for x in s))
        ratio = f"{wall / base:.2f}" if base else "-"
        print(f"{name:<20} {wall:>10.2f} {rss:>13} {ratio:>16} {wall / true:>12.2f}")
    for f in (drive, conf):
        os.unlink(f)
    os.rmdir(work)

if __name__ == "__main__":
    main()
