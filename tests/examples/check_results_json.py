#!/usr/bin/env python3
"""results.json is valid JSON whatever bytes the paths it records hold, and an error naming such a path is one line.

Runs shuffled_pixels (one quick network) with a data folder and an output folder whose names hold a control
character (U+0001) and a byte that is not UTF-8 (0xff), parses results.json back with Python's strict json
module (a raw control character in a string, or invalid UTF-8, is an error there), and checks the data folder it
records: 0x01 escaped and read back, 0xff replaced by U+FFFD (nlohmann's error_handler_t::replace). Then names a
missing folder of that kind and checks the one line on stderr, with 0x01 written as \\x01.

    check_results_json.py SHUFFLED_PIXELS EXAMPLE_DATA WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys


def fail(message, run=None):
    if run is not None:
        message += f"\nexit status {run.returncode}\nstderr:\n{run.stderr!r}\nstdout:\n{run.stdout.decode(errors='replace')}"
    sys.exit("check_results_json.py: " + message)


program, data, work = (os.fsencode(os.path.abspath(a)) for a in sys.argv[1:4])
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
odd = b"ctl\x01 bad\xff end"
data_dir = os.path.join(work, b"data " + odd)
out_dir = os.path.join(work, b"out " + odd)
os.symlink(data, data_dir)

run = subprocess.run([program, b"--data-dir", data_dir, b"--out", out_dir, b"--datasets", b"mnist", b"--models",
                      b"dense", b"--epochs", b"1", b"--no-shuffled", b"--threads", b"1"], capture_output=True)
if run.returncode != 0:
    fail("shuffled_pixels failed", run)
with open(os.path.join(out_dir, b"results.json"), "rb") as f:
    raw = f.read()
try:
    document = json.loads(raw.decode("utf-8"))  # strict: invalid UTF-8 and raw control characters raise
except (UnicodeDecodeError, json.JSONDecodeError) as e:
    fail(f"results.json is not valid JSON: {e}\n{raw!r}")
expected = data_dir.decode("utf-8", errors="replace")  # the 0xff byte becomes U+FFFD, as nlohmann writes it
recorded = document["meta"]["data_dir"]
if recorded != expected:
    fail(f"results.json records data_dir {recorded!r}, expected {expected!r}")
if b"\\u0001" not in raw:
    fail(f"results.json does not escape U+0001 as \\u0001:\n{raw!r}")
if [(r["model"], r["train_pixels"], r["test_pixels"]) for r in document["rows"]] != [
        ("dense", "normal", "normal"), ("dense", "normal", "shuffled")]:
    fail(f"results.json rows: {document['rows']!r}")
print(f"results.json parses back; data_dir = {recorded!r}")

missing = os.path.join(work, b"missing " + odd)
run = subprocess.run([program, b"--data-dir", missing], capture_output=True)
line = b"shuffled_pixels: --data-dir: '" + missing.replace(b"\x01", b"\\x01") + \
    b"' does not exist (expected an existing folder)\n"
if run.returncode != 2 or run.stderr != line:
    fail(f"expected exit status 2 and stderr {line!r}", run)
print(f"one line on stderr: {run.stderr!r}")
