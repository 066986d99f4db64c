"""A killed training run resumes: kill -9 at three points (mid-epoch and at an epoch end), and
SIGTERM, then re-run the same event; the final weights are bit-identical to an uninterrupted
run's and no partial file is left."""
import json
import os
import signal
import subprocess
import time
import unittest

import torch

from medpipe_testlib import MEDPIPE, MedpipeTestCase, write_event


def state_of(path):
    module = torch.jit.load(path)
    state = dict(module.named_parameters())
    state.update(dict(module.named_buffers()))
    return state


class Resume(MedpipeTestCase):
    def start(self, event):
        return subprocess.Popen([MEDPIPE, "run", event], cwd=self.tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)

    def checkpoints(self, name):
        log = self.path("models", name, "events.jsonl")
        if not os.path.exists(log):
            return 0
        with open(log) as f:
            return sum('"event":"checkpoint"' in line for line in f)

    def kill_after(self, event, name, checkpoints, sig=signal.SIGKILL):
        process = self.start(event)
        deadline = time.time() + 300
        while self.checkpoints(name) < checkpoints and process.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        process.send_signal(sig)
        _, stderr = process.communicate()
        return process.returncode, stderr

    def assertSameWeights(self, a, b):
        sa, sb = state_of(a), state_of(b)
        self.assertEqual(sorted(sa), sorted(sb))
        for key in sa:
            self.assertTrue(torch.equal(sa[key], sb[key]), key)

    def no_partial_files(self, name):
        return [f for f in os.listdir(self.path("models", name)) if ".tmp." in f]

    def test_classifier_resumes_bit_identically(self):
        self.assertDone(self.medpipe("synth", "--out", "d", "--count", "64", "--size", "24", "--seed", "2"))
        base = {"images_bucket": "d", "epochs": 3, "batch_size": 8, "checkpoint_every": 2, "threads": 2, "seed": 5}
        write_event(self.path("ref.json"), {**base, "model_bucket_name": "ref"})
        self.assertDone(self.medpipe("run", "ref.json"))
        # 2 and 5 checkpoints: mid-epoch; 7 (2 per 6-step epoch + its end): just after an epoch end
        for n, kills in enumerate((2, 5, 7)):
            name = f"k{n}"
            write_event(self.path(f"{name}.json"), {**base, "model_bucket_name": name})
            code, _ = self.kill_after(f"{name}.json", name, kills)
            self.assertEqual(code, -signal.SIGKILL)
            self.assertFalse(os.path.exists(self.path("models", name, "model.pt")))
            result = self.medpipe("run", f"{name}.json")
            self.assertDone(result)
            self.assertIn("resuming from", result.stderr)
            self.assertSameWeights(self.path("models", "ref", "model.pt"), self.path("models", name, "model.pt"))
            self.assertEqual(self.no_partial_files(name), [])
            self.assertFalse(os.path.exists(self.path("models", name, "training_state_0.pt")))
        history = json.load(open(self.path("models", "k0", "model.json")))["history"]
        self.assertEqual([h["epoch"] for h in history], [1, 2, 3])

    def test_sigterm_saves_and_exits_1(self):
        self.assertDone(self.medpipe("synth", "--out", "d", "--count", "64", "--size", "24", "--seed", "2"))
        write_event(self.path("e.json"), {"images_bucket": "d", "epochs": 3, "batch_size": 8,
                                          "checkpoint_every": 0, "threads": 2, "model_bucket_name": "t"})
        code, stderr = self.kill_after("e.json", "t", 1, signal.SIGTERM)
        self.assertEqual(code, 1, stderr)
        self.assertIn("re-run the same event to resume", stderr)
        self.assertTrue(os.path.exists(self.path("models", "t", "training_state_0.pt")))
        # other settings: the state is not used
        write_event(self.path("other.json"), {"images_bucket": "d", "epochs": 2, "batch_size": 8,
                                              "threads": 2, "model_bucket_name": "t"})
        result = self.medpipe("run", "other.json")
        self.assertDone(result)
        self.assertIn("belongs to another run", result.stderr)

    def test_segmenter_resumes_bit_identically(self):
        self.assertDone(self.medpipe("synth", "--task", "segment", "--out", "s", "--count", "8", "--size", "32"))
        base = {"images_bucket": "s", "label_style": "array", "epochs": 2, "checkpoint_every": 2, "threads": 2,
                "unet_width": 4, "unet_depth": 2, "patches_per_image": 4}
        write_event(self.path("ref.json"), {**base, "model_bucket_name": "ref"})
        self.assertDone(self.medpipe("run", "ref.json"))
        write_event(self.path("k.json"), {**base, "model_bucket_name": "k"})
        self.kill_after("k.json", "k", 2)
        result = self.medpipe("run", "k.json")
        self.assertDone(result)
        self.assertIn("resuming from", result.stderr)
        self.assertSameWeights(self.path("models", "ref", "model.pt"), self.path("models", "k", "model.pt"))


if __name__ == "__main__":
    unittest.main()
