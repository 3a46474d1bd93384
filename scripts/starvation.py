#!/usr/bin/env python3
"""Starvation pattern ("a queue of jobs"): daemon A locks, holds HOLD seconds, unlocks and locks
again at once, over and over; daemons B (and C) each run one `lock -w WAIT` that starts while A
holds. Per trial: how many of A's holds began between a waiter's start and its acquisition
(0 = it got the drive at A's first release), and how long it waited. Each waiter then holds
briefly and unlocks; the trial ends when every waiter has had the drive or given up.

usage: starvation.py BIN [--waiters 1|2] [--trials N] [--hold SECONDS] [--wait SECONDS] [--label TEXT]
Prints one markdown table row per waiter (trials, got it, holds passed over: max and median, longest
wait) and, with --raw, every trial.
"""
import argparse, os, statistics, subprocess, sys, tempfile, threading, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--waiters", type=int, default=1)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--hold", type=float, default=1.0)
    ap.add_argument("--wait", type=float, default=30)
    ap.add_argument("--label", default="")
    ap.add_argument("--raw", action="store_true")
    ap.add_argument("--header", action="store_true")
    a = ap.parse_args()
    names = ["A", "B", "C"][: 1 + a.waiters]
    keys = {"A": "bac001", "B": "bac999", "C": "bac555"}
    results = {n: [] for n in names[1:]}   # (got, passed_over, waited)
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, STORAGE_CTL_RUN_DIR=os.path.join(d, "run"))
        for n in names:
            with open(os.path.join(d, n + ".conf"), "w") as f:
                f.write(f"key={keys[n]}\ninitiator=iqn.2024-01.test:{n.lower()}\nmax_lock_wait={a.wait}\n")
        for trial in range(a.trials):
            drive = os.path.join(d, f"drive{trial}")
            open(drive, "w").close()
            subprocess.run([a.bin, drive, "create"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            def run(n, verb, *extra):
                return subprocess.run([a.bin, "-c", os.path.join(d, n + ".conf"), *extra, drive, verb],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            a_holds = []          # start times of A's holds
            stop = threading.Event()
            lock = threading.Lock()
            def daemon_a():
                while not stop.is_set():
                    r = run("A", "lock")
                    if r.returncode != 0:
                        continue
                    with lock:
                        a_holds.append(time.monotonic())
                    stop.wait(a.hold)
                    run("A", "unlock")
            ta = threading.Thread(target=daemon_a)
            ta.start()
            while True:                       # a waiter starts while A holds (its first hold)
                with lock:
                    if a_holds:
                        break
                time.sleep(0.01)
            time.sleep(a.hold * 0.3)
            outs = {}
            def waiter(n):
                t0 = time.monotonic()
                r = run(n, "lock")
                t1 = time.monotonic()
                with lock:
                    passed = sum(1 for t in a_holds if t0 < t < t1)
                outs[n] = (r.returncode == 0, passed, t1 - t0)
                if r.returncode == 0:
                    time.sleep(a.hold)
                    run(n, "unlock")
            ws = [threading.Thread(target=waiter, args=(n,)) for n in names[1:]]
            for t in ws:
                t.start()
            for t in ws:
                t.join()
            stop.set()
            ta.join()
            for n in names[1:]:
                results[n].append(outs[n])
                if a.raw:
                    print(f"trial {trial} {n}: got={outs[n][0]} A-holds-passed-over={outs[n][1]} waited={outs[n][2]:.2f}s", file=sys.stderr)
    if a.header:
        print("| binary | waiters | waiter | trials | got the drive | A's holds passed over: median | max | longest wait s |")
        print("|---|---:|---|---:|---:|---:|---:|---:|")
    for n in names[1:]:
        r = results[n]
        got = sum(1 for x in r if x[0])
        passed = [x[1] for x in r]
        print(f"| {a.label} | {a.waiters} | {n} | {len(r)} | {got} | {statistics.median(passed):g} | {max(passed)} | {max(x[2] for x in r):.1f} |")

main()
