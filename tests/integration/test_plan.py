"""medpipe plan through the real binary: the plan of a 2D classification set, a segmentation set
and a volume set (NIfTI volumes with 3D masks), each printed in under a second without decoding
every image; keys the event gives are kept; the plan a run uses is the one `medpipe plan`
printed, written to model.json."""
import json
import os
import subprocess
import time

import numpy as np

from medpipe_testlib import MEDPIPE, MedpipeTestCase, write_event


class Plan(MedpipeTestCase):
    def plan(self, event, *extra):
        start = time.monotonic()
        result = subprocess.run([MEDPIPE, "plan", event, "--json", *extra], cwd=self.tmp,
                                capture_output=True, text=True, timeout=60)
        seconds = time.monotonic() - start
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertLess(seconds, 1.0, "medpipe plan took %.2f s" % seconds)
        plan = json.loads(result.stdout)
        return plan, {c["key"]: c for c in plan["choices"]}

    def synth(self, task, out, count, size):
        subprocess.run([MEDPIPE, "synth", "--task", task, "--out", out, "--count", str(count),
                        "--size", str(size)], cwd=self.tmp, check=True, capture_output=True)

    def test_a_2d_classification_set(self):
        self.synth("classify", "c", 120, 28)
        event = write_event(self.path("c.json"), {"images_bucket": "c", "model_bucket_name": "c"})
        plan, choice = self.plan(event)
        f = plan["fingerprint"]
        self.assertEqual((f["task"], f["size"], f["channels"], f["volume"]), ("classify", [28, 28, 1], 1, False))
        self.assertEqual(f["train_images"] + f["val_images"], 120)  # val_fraction's share held out
        self.assertEqual(sum(f["class_counts"]), f["train_images"])
        self.assertLessEqual(f["sampled_images"], 8)  # headers of a few images, not all of them
        self.assertEqual(choice["arch"]["value"], "cnn")
        self.assertEqual(choice["image_size"]["value"], 28)
        self.assertEqual((choice["optimizer"]["value"], choice["learning_rate"]["value"]), ("adam", 1e-3))
        self.assertEqual(choice["select_metric"]["value"], "auc")
        self.assertEqual((choice["epochs"]["value"], choice["ensemble"]["value"]), (60, 3))
        for c in plan["choices"]:
            self.assertTrue(c["reason"], c)
        self.assertGreater(plan["estimated_min"], 0)
        self.assertLessEqual(plan["estimated_min"], plan["time_budget_min"])
        # the text form names every choice with its reason
        text = self.medpipe("plan", event)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("ensemble = 3", text.stdout)
        self.assertIn("estimated training time", text.stdout)

    def test_given_keys_win_and_the_budget_limits_the_plan(self):
        self.synth("classify", "c", 60, 64)
        event = write_event(self.path("c.json"), {"images_bucket": "c", "epochs": 4,
                                                  "learning_rate": 0.02})
        _, choice = self.plan(event)
        self.assertEqual(choice["epochs"], {"key": "epochs", "value": 4, "reason": "given", "given": True})
        self.assertEqual(choice["learning_rate"]["value"], 0.02)
        self.assertEqual(choice["optimizer"]["value"], "sgd")  # a rate given for SGD keeps SGD
        self.assertEqual(choice["ensemble"]["value"], 1)  # epochs given: one network
        # a tight budget: fewer epochs, one network
        _, tight = self.plan(write_event(self.path("t.json"), {"images_bucket": "c"}),
                             "--set", "time_budget_min=1", "--set", "num_machines=1", "--set", "threads=1")
        self.assertLess(tight["epochs"]["value"], 60)
        self.assertEqual(tight["ensemble"]["value"], 1)

    def test_radiomics_and_survival(self):
        self.synth("classify", "c", 40, 28)
        plan, choice = self.plan(write_event(self.path("f.json"),
                                             {"images_bucket": "c", "pipeline": "features"}))
        self.assertEqual(plan["fingerprint"]["task"], "features")
        self.assertEqual((choice["optimizer"]["value"], choice["epochs"]["value"]), ("adam", 60))
        self.assertNotIn("arch", choice)
        self.synth("survival", "s", 20, 28)
        plan, choice = self.plan(write_event(self.path("s.json"),
                                             {"images_bucket": "s", "label_style": "survival"}))
        self.assertEqual(choice, {})
        self.assertIn("nothing planned", plan["note"])

    def test_a_segmentation_set(self):
        self.synth("segment", "s", 12, 64)
        event = write_event(self.path("s.json"), {"images_bucket": "s", "label_style": "array"})
        plan, choice = self.plan(event)
        self.assertEqual(plan["fingerprint"]["task"], "segment")
        self.assertEqual(choice["arch"]["value"], "unet")
        self.assertEqual(choice["optimizer"]["value"], "adam")
        self.assertNotIn("ensemble", choice)

    def test_a_volume_set(self):
        os.makedirs(self.path("v", "images"))
        os.makedirs(self.path("v", "masks"))
        rng = np.random.default_rng(0)
        for i in range(6):
            volume = rng.normal(size=(10, 32, 32)).astype(np.float32)
            np.save(self.path(f"v{i}.npy"), volume)
            converted = self.medpipe("convert", f"v{i}.npy", os.path.join("v", "images", f"v{i}.nii.gz"))
            self.assertEqual(converted.returncode, 0, converted.stderr)
            np.save(self.path("v", "masks", f"v{i}.npy"), (volume > 1).astype(np.uint8))
        event = write_event(self.path("v.json"), {"images_bucket": "v", "label_style": "array"})
        plan, choice = self.plan(event)
        f = plan["fingerprint"]
        self.assertTrue(f["volume"])
        self.assertEqual(f["size"], [32, 32, 10])
        self.assertIn("slice", choice["arch"]["reason"])

    def test_the_run_records_the_plan_it_used(self):
        self.synth("classify", "c", 40, 16)
        event = write_event(self.path("c.json"), {"images_bucket": "c", "model_bucket_name": "m",
                                                  "epochs": 1, "num_machines": 1})
        plan, _ = self.plan(event)
        self.assertDone(self.medpipe("run", event))
        with open(self.path("models", "m", "model.json")) as f:
            model = json.load(f)
        self.assertEqual(model["plan"]["choices"], plan["choices"])
        self.assertEqual(model["training"]["optimizer"], plan_value(plan, "optimizer"))
        self.assertEqual(model["training"]["ensemble"], 1)


def plan_value(plan, key):
    return next(c["value"] for c in plan["choices"] if c["key"] == key)
