"""Runs a command and reports its wall time together with the other load on the machine while
it ran, rerunning it (up to --attempts times) while something else used more than --max-other
of a core: a timing that shared the CPU is not recorded as one.

  timed.py [--label L] [--max-other 0.15] [--attempts 4] [--stdout FILE] -- command ...

Prints one JSON line: label, seconds (wall), cpu_seconds (the command's own user + system
time), peak_rss_mb (its largest resident set), other_load_cores (the machine's busy time, from /proc/stat, minus the command's, over
the wall time), attempts, accepted (false when every attempt shared the CPU: the last is kept)."""
import argparse
import json
import os
import resource
import subprocess
import sys
import time


def busy_seconds():
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_once(command, stdout):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, start = busy_seconds(), time.perf_counter()
    with open(stdout, "w") if stdout else open(os.devnull, "w") as out:
        code = subprocess.call(command, stdout=out, stderr=subprocess.DEVNULL)
    wall, busy1 = time.perf_counter() - start, busy_seconds()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return code, wall, own, max(0.0, (busy1 - busy0) - own) / wall


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="")
    parser.add_argument("--max-other", type=float, default=0.15)
    parser.add_argument("--attempts", type=int, default=4)
    parser.add_argument("--stdout")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command and args.command[0] == "--" else args.command
    for attempt in range(1, args.attempts + 1):
        code, wall, own, other = run_once(command, args.stdout)
        if code != 0:
            sys.exit(f"timed.py: {' '.join(command)} exited {code}")
        if other <= args.max_other:
            break
        time.sleep(2)
    # the largest resident set of any child so far: the command's own, for one command per run
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"label": args.label, "seconds": wall, "cpu_seconds": own,
                      "peak_rss_mb": round(peak_mb, 1),
                      "other_load_cores": round(other, 3), "attempts": attempt,
                      "accepted": other <= args.max_other}))


if __name__ == "__main__":
    main()
