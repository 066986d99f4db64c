"""The seed's deep pipeline: torchvision's AlexNet, weights saved by python3-torch (TorchScript
or a state dict), features frozen, the last three fully-connected layers re-initialised and
trained for num_classes outputs (finetune: last3)."""
import os
import unittest

import numpy as np

from medpipe_testlib import MedpipeTestCase, make_separable_set, write_event

try:
    import torch
    import torchvision
except ImportError:  # pragma: no cover
    torch = None


@unittest.skipIf(torch is None, "python3-torch / python3-torchvision are not installed")
class PretrainedAlexnet(MedpipeTestCase):
    def setUp(self):
        super().setUp()
        torch.manual_seed(0)
        self.reference = torchvision.models.alexnet()  # no download: random ImageNet-shaped weights
        self.reference.eval()
        torch.jit.script(self.reference).save(self.path("alexnet_script.pt"))
        torch.save(self.reference.state_dict(), self.path("alexnet_state.pt"))
        make_separable_set(self.path("data"), 10, size=64, seed=2, channels=3)

    def check(self, weights_file):
        write_event(self.path("e.json"), {
            "images_bucket": "data", "arch": "alexnet", "pretrained": weights_file, "finetune": "last3",
            "image_size": 64, "epochs": 1, "batch_size": 4, "val_fraction": 0, "num_machines": 1,
            "model_bucket_name": weights_file.split(".")[0]})
        result = self.medpipe("run", "e.json")
        self.assertDone(result)
        trained = torch.jit.load(self.path("models", weights_file.split(".")[0], "model.pt"))
        ref = self.reference.state_dict()
        for index in (0, 3, 6, 8, 10):  # features: loaded and frozen
            for kind in ("weight", "bias"):
                ours = getattr(trained, f"features_{index}_{kind}")
                self.assertTrue(torch.equal(ours, ref[f"features.{index}.{kind}"]), f"features.{index}.{kind}")
        self.assertEqual(tuple(trained.classifier_6_weight.shape), (2, 4096))  # num_classes outputs
        for index in (1, 4):  # re-initialised, then trained
            self.assertFalse(torch.equal(trained.classifier_1_weight, ref["classifier.1.weight"]))
            self.assertEqual(getattr(trained, f"classifier_{index}_weight").shape, ref[f"classifier.{index}.weight"].shape)
        with torch.no_grad():
            out = trained(torch.randn(2, 3, 64, 64))
        self.assertEqual(tuple(out.shape), (2, 2))

    def test_torchscript_weights(self):
        self.check("alexnet_script.pt")

    def test_state_dict_weights(self):
        self.check("alexnet_state.pt")

    def test_last3_needs_alexnet(self):
        write_event(self.path("e.json"), {"images_bucket": "data", "arch": "cnn", "finetune": "last3"})
        self.assertUsageError(self.medpipe("run", "e.json"), "last3", "alexnet")


if __name__ == "__main__":
    unittest.main()
