#!/usr/bin/env python3
"""What fairness costs a re-locking holder (docs/DESIGN.md "Fairness"): the time of A's `lock`
right after A's own `unlock`, when the other registered key is (a) idle, (b) a waiter that was
killed (SIGKILL) while waiting during A's hold: A's first re-lock after it, then the next one.
Medians of R rounds, in ms, per binary given (LABEL=PATH ...). Printed as a markdown table.

usage: fairness-cost.py [--rounds R] LABEL=BIN [LABEL=BIN ...]"""
import os, signal, statistics, subprocess, sys, tempfile, time

def main():
    args = sys.argv[1:]
    rounds = 10
    if args[:1] == ["--rounds"]:
        rounds, args = int(args[1]), args[2:]
    bins = [a.partition("=")[::2] for a in args]
    rows = []
    for label, binary in bins:
        idle, dead_first, dead_next = [], [], []
        for r in range(rounds):
            with tempfile.TemporaryDirectory() as d:
                env = dict(os.environ, STORAGE_CTL_RUN_DIR=os.path.join(d, "run"))
                for n, k in (("a", "bac001"), ("b", "bac999")):
                    with open(os.path.join(d, n + ".conf"), "w") as f:
                        f.write(f"key={k}\ninitiator=iqn.2024-01.test:{n}\n")
                drive = os.path.join(d, "drive")
                open(drive, "w").close()
                # a drive is made on purpose (`create`); an older build took the empty file for a fresh drive
                subprocess.run([binary, drive, "create"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                def run(n, *verb):
                    t = time.monotonic()
                    p = subprocess.run([binary, "-c", os.path.join(d, n + ".conf"), drive, *verb], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    assert p.returncode == 0, (label, n, verb, p.returncode)
                    return (time.monotonic() - t) * 1000
                run("b", "register")
                run("a", "lock"); run("a", "unlock")
                idle.append(run("a", "lock"))
                w = subprocess.Popen([binary, "-c", os.path.join(d, "b.conf"), drive, "lock", "-w", "60"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                w.stderr.readline()               # "waiting up to 60 s": B is polling (and heartbeating)
                w.send_signal(signal.SIGKILL); w.wait()
                run("a", "unlock")
                dead_first.append(run("a", "lock"))
                run("a", "unlock")
                dead_next.append(run("a", "lock"))
        rows.append((label, statistics.median(idle), statistics.median(dead_first), statistics.median(dead_next)))
    print("| binary | re-lock, other key idle (ms) | first re-lock after a waiter died (ms) | the re-lock after that (ms) |")
    print("|---|---:|---:|---:|")
    for label, a, b, c in rows:
        print(f"| {label} | {a:.1f} | {b:.1f} | {c:.1f} |")
    print(f"\n_medians of {rounds} rounds; each time includes process start-up._")

main()
