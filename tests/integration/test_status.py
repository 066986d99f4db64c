"""`medpipe status` on live, finished and killed runs, read from the real binary's event logs; and
every event-log line is one whole JSON object."""
import json
import os
import signal
import subprocess
import time
import unittest

from medpipe_testlib import MEDPIPE, MedpipeTestCase, write_event


def read_json(path):
    with open(path) as f:
        return json.load(f)


class Status(MedpipeTestCase):
    def setUp(self):
        super().setUp()
        r = self.medpipe("synth", "--task", "classify", "--out", "d", "--count", 240, "--size", 32, "--seed", 1)
        self.assertDone(r)

    def status(self, folder):
        r = self.medpipe("status", folder, "--json")
        self.assertNoCrash(r)
        return json.loads(r.stdout)

    def start_training(self, name, epochs):
        write_event(self.path(name + ".json"), {"images_bucket": "d", "epochs": epochs, "batch_size": 8,
                                               "model_bucket_name": name, "seed": 1, "num_machines": 1})
        return subprocess.Popen([MEDPIPE, "run", name + ".json"], cwd=self.tmp, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def wait_for_training_progress(self, folder, process, timeout=120):
        start = time.time()
        while time.time() - start < timeout:
            self.assertIsNone(process.poll(), "the run ended before its training showed progress")
            if os.path.exists(self.path(folder, "events.jsonl")):
                s = self.status(folder)
                if s["stage"] == "train" and s["progress"] and s["progress"]["stage"] == "train":
                    return s
            time.sleep(0.3)
        self.fail("no training progress in the event log")

    def test_live_run_advances_then_shows_final_metrics(self):
        process = self.start_training("live", epochs=25)
        watcher = subprocess.Popen([MEDPIPE, "status", "models/live", "--watch", "--interval", "0.5"],
                                   cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = self.wait_for_training_progress("models/live", process)
            self.assertEqual(first["state"], "running")
            self.assertEqual(first["epochs"], 25)
            later = first
            deadline = time.time() + 120
            while later["progress"]["done"] <= first["progress"]["done"] and time.time() < deadline:
                time.sleep(0.5)
                later = self.status("models/live")
            self.assertGreater(later["progress"]["done"], first["progress"]["done"])
            self.assertGreater(later["progress"]["rate_per_s"], 0)
            self.assertEqual(later["progress"]["total"], first["progress"]["total"])
            _, stderr = process.communicate(timeout=600)
            self.assertEqual(process.returncode, 0, stderr[-2000:])
            watched, _ = watcher.communicate(timeout=30)  # --watch ends with the run
        finally:
            for p in (process, watcher):
                if p.poll() is None:
                    p.kill()
        self.assertEqual(watcher.returncode, 0)
        self.assertGreater(watched.count("progress: train"), 1)  # refreshed while it ran
        self.assertIn("state: done", watched.strip().split("\n\n")[-1])
        done = self.status("models/live")
        self.assertEqual((done["state"], done["exit_code"]), ("done", 0))
        self.assertEqual(done["last_epoch"]["epoch"], 25)
        self.assertIn("val_auc", done["last_epoch"])
        # predict with labels: the results folder's status holds the evaluation's metrics
        r = self.medpipe("run", "live.json", "--set", "is_train=false")
        self.assertDone(r)
        text = self.medpipe("status", "results/live")
        self.assertEqual(text.returncode, 0)
        metrics = read_json(self.path("results", "live", "metrics.json"))
        self.assertIn("state: done", text.stdout)
        self.assertIn("metrics: n %d, accuracy %.4f" % (metrics["n"], metrics["accuracy"]), text.stdout)
        self.assertEqual(self.status("results/live")["metrics"]["roc_auc"], metrics["roc_auc"])

    def test_a_killed_run_is_shown_as_stopped_and_resumes(self):
        process = self.start_training("killed", epochs=40)
        try:
            self.wait_for_training_progress("models/killed", process)
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=60)
        r = self.medpipe("status", "models/killed")
        self.assertEqual(r.returncode, 0)
        self.assertIn("state: stopped", r.stdout)
        self.assertIn("run the same command again to resume", r.stdout)
        with open(self.path("models", "killed", "events.jsonl")) as f:
            for line in f:  # whole lines only
                json.loads(line)

    def test_event_log_lines_are_json_objects_with_time_and_event(self):
        # a run with an unreadable image and a label for a missing one: warnings and skips
        with open(self.path("d", "images", "broken.png"), "wb") as f:
            f.write(b"\x89PNG not really")
        with open(self.path("d", "labels.csv"), "a") as f:
            f.write("broken,0\n")
        write_event(self.path("e.json"), {"images_bucket": "d", "epochs": 2, "batch_size": 16, "cnn_width": 4})
        self.assertDone(self.medpipe("run", "e.json"))
        self.assertDone(self.medpipe("run", "e.json", "--set", "is_train=false"))
        self.assertEqual(self.medpipe("run", "e.json", "--set", "images_bucket=nowhere").returncode, 2)
        names = set()
        for folder in ("models/model", "results/model"):
            with open(self.path(folder, "events.jsonl")) as f:
                for line in f:
                    self.assertTrue(line.endswith("\n"))
                    event = json.loads(line)
                    self.assertIsInstance(event, dict)
                    self.assertRegex(event["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                    names.add(event["event"])
            self.assertFalse(os.stat(self.path(folder, "events.jsonl")).st_mode & 0o077)
        for expected in ("run_start", "stage_start", "progress", "epoch_end", "stage_end", "skipped",
                         "warning", "metrics", "run_end"):
            self.assertIn(expected, names)


if __name__ == "__main__":
    unittest.main()
