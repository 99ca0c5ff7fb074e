#!/usr/bin/python3
"""Train the whole suite one model after another (lenet5 first).

    /usr/bin/python3 tools/train/train_all.py [--logdir /tmp] [MODEL ...]

Each model runs `train.py --model NAME` with its defaults on one thread;
its output goes to LOGDIR/train_NAME.log. A failing model does not stop the
others; the exit status is non-zero if any failed.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import models  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--logdir", default="/tmp")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("models", nargs="*", default=models.ORDER)
    args = p.parse_args()
    failed = []
    for name in args.models:
        log = os.path.join(args.logdir, "train_%s.log" % name)
        t = time.time()
        print("%s: training %s (log %s)" % (time.strftime("%H:%M:%S"), name,
                                            log), flush=True)
        with open(log, "w") as f:
            rc = subprocess.call([sys.executable, os.path.join(HERE, "train.py"),
                                  "--model", name,
                                  "--threads", str(args.threads)],
                                 stdout=f, stderr=subprocess.STDOUT)
        print("%s: %s %s in %.0fs" % (time.strftime("%H:%M:%S"), name,
                                      "ok" if rc == 0 else "FAILED rc=%d" % rc,
                                      time.time() - t), flush=True)
        if rc:
            failed.append(name)
    if failed:
        sys.exit("failed: " + " ".join(failed))


if __name__ == "__main__":
    main()
