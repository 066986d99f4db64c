"""3D segmentation (issue 20): on isotropic CT-like volumes the planner picks the 3D U-Net
(unet3d), trained on random 3D patches with foreground oversampling; on held-out volumes its
Dice is >= 0.9, and a python3-torch sliding window over the saved model.pt (the same patch,
overlap, Gaussian weights and mirror; bench/sliding3d_peer.py) labels the voxels as medpipe
does. Thick-slice stacks stay 2D; unet3d on 2D images is a usage error."""
import json
import os
import subprocess
import sys

from medpipe_testlib import MedpipeTestCase, read_csv_rows, write_event

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PY = "/usr/bin/python3"


def synth(out, count, seed, *extra):
    subprocess.run([PY, os.path.join(REPO, "scripts", "synth_volumes.py"), out, str(count),
                    str(seed), *extra], check=True)


def load_json(path):
    with open(path) as f:
        return json.load(f)


class Segmentation3d(MedpipeTestCase):
    def plan_arch(self, event):
        r = self.medpipe("plan", event)
        self.assertDone(r)
        line = [l for l in (r.stdout + r.stderr).splitlines() if "arch =" in l]
        self.assertTrue(line, r.stdout + r.stderr)
        return line[0]

    def test_the_3d_unet_segments_held_out_volumes_as_python_does(self):
        synth(self.path("train"), 24, 1)
        synth(self.path("test"), 6, 2)
        event = write_event(self.path("train.json"), {
            "images_bucket": "train", "label_style": "array", "model_bucket_name": "m",
            "unet_depth": 3, "unet_width": 8, "patch_size": 32, "val_fraction": 0.2,
            "epochs": 20, "patches_per_image": 8, "normalize": "ct"})
        self.assertIn("arch = unet3d", self.plan_arch(event))
        self.assertDone(self.medpipe("run", event, timeout=1500))
        model = load_json(self.path("models", "m", "model.json"))
        self.assertEqual(model["model"]["arch"], "unet3d")
        self.assertEqual((model["patch_size"], model["model"]["image_depth"]), (32, 32))
        predict = write_event(self.path("predict.json"), {
            "images_bucket": "test", "label_style": "array", "model_bucket_name": "m",
            "is_train": False, "results_bucket": "results"})
        self.assertDone(self.medpipe("run", predict))
        metrics = load_json(self.path("results", "metrics.json"))
        print(f"3D U-Net, held-out synthetic volumes: Dice {metrics['dice']:.3f}")
        self.assertGreaterEqual(metrics["dice"], 0.9)
        rows = read_csv_rows(self.path("results", "predictions.csv"))
        self.assertEqual(len(rows), 6)
        # python3-torch's sliding window over the same model.pt and volume
        name = rows[0]["image"]
        r = subprocess.run([PY, os.path.join(REPO, "bench", "sliding3d_peer.py"),
                            self.path("models", "m"), self.path("test", "images", name + ".nii.gz"),
                            self.path("peer"), "2", "--compare",
                            self.path("results", name + ".npy")],
                           capture_output=True, text=True, check=True)
        agreement = json.loads(r.stdout)
        self.assertGreater(agreement["foreground_voxels"], 0)
        self.assertLess(agreement["foreground_voxels"], 0.2 * 48 ** 3)  # nodules, not everything
        self.assertGreaterEqual(agreement["agreement"], 0.9999, agreement)

    def test_thick_slices_stay_2d_and_unet3d_on_2d_images_is_refused(self):
        synth(self.path("thick"), 3, 3, "--size", "32", "--depth", "12", "--spacing", "0.8,0.8,5")
        event = write_event(self.path("thick.json"), {"images_bucket": "thick",
                                                      "label_style": "array"})
        line = self.plan_arch(event)
        self.assertIn("arch = unet ", line)
        self.assertIn("anisotropic", line)
        self.assertDone(self.medpipe("synth", "--task", "segment", "--out", "flat", "--count", "4",
                                     "--size", "32"))
        r = self.medpipe("train", "--images-bucket", "flat", "--label-style", "array", "--arch",
                         "unet3d", "--epochs", "1", "--model-bucket-name", "flat")
        self.assertUsageError(r, "unet3d", "2D")


if __name__ == "__main__":
    sys.exit(__import__("unittest").main())
