"""The BLAS kernels medpipe runs: chosen from the CPU's features where the user set nothing,
checked numerically, recorded in model.json and the event log; the user's setting wins."""
import csv
import json
import os
import subprocess
import unittest

from medpipe_testlib import MEDPIPE, MedpipeTestCase, make_separable_set, write_event

AVX512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"}
RANK = {"skylakex": 3, "cooperlake": 3, "sapphirerapids": 3, "haswell": 2, "zen": 2}


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def best_rank(flags):
    if AVX512 <= flags:
        return 3
    return 2 if {"avx2", "fma"} <= flags else 0


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "MEDPIPE_BLAS"))}
    env.update(extra)
    return env


class BlasKernelTest(MedpipeTestCase):
    def medpipe_env(self, args, env):
        return subprocess.run([MEDPIPE] + list(args), cwd=self.tmp, capture_output=True, text=True,
                              timeout=600, env=env)

    def train_mlp(self, env, name):
        make_separable_set(self.path("set"), 24, size=16)
        event = write_event(self.path(name + ".json"), {
            "images_bucket": "set", "model_bucket_name": name, "arch": "mlp", "epochs": 2,
            "val_fraction": 0, "image_size": 16})
        self.assertDone(self.medpipe_env(["run", event], env))
        with open(self.path("models", name, "model.json")) as f:
            model = json.load(f)
        with open(self.path("models", name, "events.jsonl")) as f:
            start = [json.loads(l) for l in f if '"run_start"' in l][0]
        return model, start

    def test_unset_coretype_runs_the_cpus_fastest_kernels_and_records_them(self):
        flags = cpu_flags()
        if best_rank(flags) == 0:
            self.skipTest("this CPU has no AVX2 or AVX-512 kernels to choose")
        model, start = self.train_mlp(clean_env(), "auto")
        blas = model["blas"]
        self.assertEqual(blas["library"], "OpenBLAS")
        self.assertEqual(blas["check"], "passed")
        self.assertEqual(RANK.get(blas["core"].lower(), 0), best_rank(flags), blas)
        self.assertIn(blas["source"], ("openblas", "medpipe"))  # medpipe: OpenBLAS had chosen worse
        self.assertEqual(start["blas"], blas)
        version = self.medpipe_env(["--version"], clean_env())
        self.assertIn(f"BLAS: OpenBLAS, {blas['core']} kernels", version.stdout)

    def test_the_users_coretype_wins(self):
        model, start = self.train_mlp(clean_env(OPENBLAS_CORETYPE="Prescott"), "user")
        self.assertEqual(model["blas"]["core"], "Prescott")
        self.assertEqual(model["blas"]["source"], "OPENBLAS_CORETYPE")
        self.assertEqual(model["blas"]["check"], "passed")

    def test_a_restarted_process_records_its_choice_and_leaves_children_to_theirs(self):
        """The state medpipe restarts itself in after overriding a misdetection (Prescott)."""
        flags = cpu_flags()
        if not AVX512 <= flags:
            self.skipTest("no AVX-512 on this CPU")
        env = clean_env(OPENBLAS_CORETYPE="SkylakeX", MEDPIPE_BLAS_CHOICE="forced:SkylakeX:Prescott")
        model, _ = self.train_mlp(env, "forced")
        self.assertEqual(model["blas"], {"library": "OpenBLAS", "core": "SkylakeX", "source": "medpipe",
                                         "check": "passed", "openblas_detected": "Prescott"})

    def test_predictions_agree_across_kernels(self):
        """The same model predicts the same probabilities with generic and with AVX kernels."""
        if best_rank(cpu_flags()) == 0:
            self.skipTest("no AVX kernels on this CPU")
        self.train_mlp(clean_env(), "agree")
        probabilities = {}
        for core in ("Prescott", None):
            env = clean_env(**({"OPENBLAS_CORETYPE": core} if core else {}))
            out = f"results_{core}"
            self.assertDone(self.medpipe_env(["run", self.path("agree.json"), "--set", "is_train=false",
                                              "--set", "has_labels=false", "--set", f"results_bucket={out}"],
                                             env))
            with open(self.path(out, "predictions.csv")) as f:
                probabilities[core] = [float(r["prob_1"]) for r in csv.DictReader(f)]
        self.assertEqual(len(probabilities[None]), 24)
        for a, b in zip(probabilities["Prescott"], probabilities[None]):
            self.assertAlmostEqual(a, b, places=5)


if __name__ == "__main__":
    unittest.main()
