"""Data-parallel training through the real binary: N workers x batch b equal 1 worker x N*b
(plain SGD, relative 1e-5 after 20 steps) for 2 threads and for 2 MPI ranks under Debian's
OpenMPI; same seed, same N: bit-identical; sync weights with local_steps 1 equals gradient
averaging; with the default CNN's batch norm, synchronised, 1 x 32, 2 threads x 16 and 2 ranks x
16 predict the same probabilities (1e-4); preprocessing fans out over the ranks, each image decoded once; a dead or hung rank
stops the job with a message in bounded time and the relaunch resumes; SIGTERM under MPI."""
import glob
import json
import os
import shutil
import signal
import subprocess
import time
import unittest

import torch

from medpipe_testlib import CRASH_MARKERS, MEDPIPE, MedpipeTestCase, read_csv_rows, write_event

MPIRUN = shutil.which("mpirun")
STEPS_PER_EPOCH = 4  # 64 images, a step of 16
BASE = {"images_bucket": "d", "arch": "mlp", "epochs": 5, "augment": False, "ema_decay": 0,
        "momentum": 0, "weight_decay": 0, "lr_schedule": "constant", "learning_rate": 0.05,
        "val_fraction": 0, "seed": 3, "threads": 1, "dropout": 0.2, "checkpoint_every": 2}


def parameters(path):
    return {k: v.detach() for k, v in torch.jit.load(path).named_parameters()}


def read_json(path):
    with open(path) as f:
        return json.load(f)


def mpi_env():
    env = dict(os.environ)
    if os.geteuid() == 0:  # only inside this test: OpenMPI refuses root otherwise
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


class DataParallel(MedpipeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = __import__("tempfile").mkdtemp(prefix="medpipe_dp_")
        subprocess.run([MEDPIPE, "synth", "--out", "d", "--count", "64", "--size", "16", "--seed", "1"],
                       cwd=cls.data, check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.data, ignore_errors=True)

    def setUp(self):
        super().setUp()
        os.symlink(os.path.join(self.data, "d"), self.path("d"))

    def event(self, name, **keys):
        return write_event(self.path(name + ".json"), {**BASE, "model_bucket_name": name, **keys})

    def train(self, name, ranks=0, **keys):
        event = self.event(name, **keys)
        if ranks:
            cmd = [MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", str(ranks), MEDPIPE, "run", event]
        else:
            cmd = [MEDPIPE, "run", event]
        result = subprocess.run(cmd, cwd=self.tmp, capture_output=True, text=True, timeout=600,
                                env=mpi_env())
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        return self.path("models", name, "model.pt")

    def assertClose(self, a, b, rel=1e-5):
        pa, pb = parameters(a), parameters(b)
        self.assertEqual(sorted(pa), sorted(pb))
        for key in pa:
            scale = pa[key].abs().max().item()
            diff = (pa[key] - pb[key]).abs().max().item()
            self.assertLess(diff, rel * scale, key)

    def assertIdentical(self, a, b):
        pa, pb = parameters(a), parameters(b)
        for key in pa:
            self.assertTrue(torch.equal(pa[key], pb[key]), key)

    def test_two_threads_equal_one_worker_with_the_double_batch(self):
        one = self.train("one", num_machines=1, batch_size=16)
        two = self.train("two", num_machines=2, batch_size=8)
        again = self.train("again", num_machines=2, batch_size=8)
        self.assertClose(one, two)
        self.assertIdentical(two, again)
        self.assertEqual(read_json(self.path("models", "two", "model.json"))["parallel"]["workers"], 2)
        self.assertEqual(BASE["epochs"] * STEPS_PER_EPOCH, 20)

    def test_weights_averaged_every_step_equal_gradient_averaging(self):
        gradients = self.train("g", num_machines=2, batch_size=8, momentum=0.9)
        weights = self.train("w", num_machines=2, batch_size=8, momentum=0.9, sync="weights",
                             local_steps=1)
        self.assertClose(gradients, weights)

    @unittest.skipUnless(MPIRUN, "OpenMPI's mpirun is not installed (scripts/install-deps.sh)")
    def test_two_ranks_equal_two_threads_and_one_worker(self):
        one = self.train("one", num_machines=1, batch_size=16)
        threads = self.train("threads", num_machines=2, batch_size=8)
        ranks = self.train("ranks", ranks=2, batch_size=8)
        self.assertClose(one, ranks)
        self.assertIdentical(threads, ranks)  # the same fixed summation order
        meta = read_json(self.path("models", "ranks", "model.json"))
        self.assertEqual((meta["parallel"]["ranks"], meta["parallel"]["workers"]), (2, 2))
        # medpipe status reads rank 0's log and the other rank's problems log beside it
        status = self.medpipe("status", self.path("models", "ranks"))
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertIn("2 MPI ranks", status.stdout)
        self.assertIn("state: done", status.stdout)
        with open(self.path("models", "ranks", "events.rank1.jsonl")) as f:
            rank1 = [json.loads(line) for line in f]
        self.assertEqual([e["event"] for e in rank1], ["run_start", "run_end"])
        # local SGD over ranks: weights every step equals gradients
        weights = self.train("weights", ranks=2, batch_size=8, sync="weights", local_steps=1)
        self.assertClose(ranks, weights)

    def probabilities(self, name):
        """The model's predicted probabilities on the 64 training images, by image."""
        event = write_event(self.path(name + "_predict.json"),
                            {"images_bucket": "d", "is_train": False, "has_labels": False,
                             "model_bucket_name": name, "results_bucket": "results/" + name})
        result = self.medpipe("run", event)
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        rows = read_csv_rows(self.path("results", name, "predictions.csv"))
        return {r["image"]: [float(r["prob_0"]), float(r["prob_1"])] for r in rows}

    def assertProbabilitiesClose(self, a, b, tolerance):
        self.assertEqual(sorted(a), sorted(b))
        worst = max(abs(x - y) for k in a for x, y in zip(a[k], b[k]))
        self.assertLess(worst, tolerance)
        return worst

    @unittest.skipUnless(MPIRUN, "OpenMPI's mpirun is not installed (scripts/install-deps.sh)")
    def test_batch_norm_is_synchronised_over_threads_and_ranks(self):
        """The default CNN (batch norm): 1 worker x 32, 2 threads x 16 and 2 MPI ranks x 16 give
        the same predicted probabilities (1e-4) because batch-norm statistics cover the whole
        step; with each worker's own statistics (sync_batch_norm false) they do not."""
        # learning_rate 0.01: at 0.05 without momentum these 64 images train chaotically, and
        # rounding alone (1 worker with 1 or 2 compute threads) moves the probabilities by 1e-2
        cnn = {"arch": "auto", "dropout": 0.2, "epochs": 4, "learning_rate": 0.01}
        one = self.probabilities_of(self.train("cnn_one", num_machines=1, batch_size=32, **cnn))
        threads = self.train("cnn_threads", num_machines=2, batch_size=16, **cnn)
        ranks = self.train("cnn_ranks", ranks=2, batch_size=16, **cnn)
        self.assertIdentical(threads, ranks)  # the same fixed summation order
        worst = self.assertProbabilitiesClose(one, self.probabilities_of(threads), 1e-4)
        self.assertProbabilitiesClose(one, self.probabilities_of(ranks), 1e-4)
        print(f"\nsynchronised batch norm: largest probability difference {worst:.2e}")
        local = self.train("cnn_local", num_machines=2, batch_size=16, sync_batch_norm=False, **cnn)
        with self.assertRaises(AssertionError):
            self.assertProbabilitiesClose(one, self.probabilities_of(local), 1e-3)
        meta = read_json(self.path("models", "cnn_threads", "model.json"))
        self.assertEqual(meta["model"]["arch"], "cnn")

    def probabilities_of(self, model_path):
        return self.probabilities(os.path.basename(os.path.dirname(model_path)))

    @unittest.skipUnless(MPIRUN, "OpenMPI's mpirun is not installed (scripts/install-deps.sh)")
    def test_preprocessing_fans_out_over_ranks_once_each(self):
        self.train("single", num_machines=1, batch_size=16, epochs=1, cache_dir="cache_single")
        event = self.event("fanned", batch_size=8, epochs=1, cache_dir="cache_ranks")
        result = subprocess.run([MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", "2", MEDPIPE,
                                 "run", event], cwd=self.tmp, capture_output=True, text=True,
                                timeout=600, env=mpi_env())
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertIn("64 images shared by 2 ranks", result.stderr)
        self.assertEqual(result.stderr.count("64 images shared by"), 1)  # rank 0 speaks for the job
        single = sorted(glob.glob(self.path("cache_single", "*")))
        ranks = sorted(glob.glob(self.path("cache_ranks", "*")))
        self.assertEqual([os.path.basename(p) for p in single], [os.path.basename(p) for p in ranks])
        for a, b in zip(single, ranks):  # the same bytes as one process writes; no part left over
            with open(a, "rb") as fa, open(b, "rb") as fb:
                if a.endswith(".bin"):
                    self.assertEqual(fa.read(), fb.read())
                else:
                    self.assertEqual(json.load(fa), json.load(fb))

    def start_ranks(self, event):
        return subprocess.Popen([MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", "2", MEDPIPE,
                                 "run", event], cwd=self.tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=mpi_env(),
                                start_new_session=True)

    def wait_for_checkpoints(self, name, count, process, timeout=120):
        log = self.path("models", name, "events.jsonl")
        deadline = time.time() + timeout
        while time.time() < deadline and process.poll() is None:
            if os.path.exists(log):
                with open(log) as f:
                    if f.read().count('"event":"checkpoint"') >= count:
                        return
            time.sleep(0.05)
        self.fail(f"no {count} checkpoints in {timeout} s")

    def rank_pids(self, process):
        out = subprocess.run(["pgrep", "-f", "-s", str(os.getpgid(process.pid)), MEDPIPE],
                             capture_output=True, text=True).stdout.split()
        return [int(p) for p in out if int(p) != process.pid]

    @unittest.skipUnless(MPIRUN, "OpenMPI's mpirun is not installed (scripts/install-deps.sh)")
    def test_a_dead_rank_stops_the_job_and_the_relaunch_resumes(self):
        keys = dict(batch_size=8, epochs=100, checkpoint_every=5, hidden_units=2048)
        reference = self.train("reference", ranks=2, **keys)
        event = self.event("killed", **keys)
        process = self.start_ranks(event)
        self.wait_for_checkpoints("killed", 3, process)
        pids = self.rank_pids(process)
        self.assertEqual(len(pids), 2, pids)
        os.kill(max(pids), signal.SIGKILL)  # one rank dies
        start = time.time()
        _, stderr = process.communicate(timeout=120)
        self.assertLess(time.time() - start, 60)
        self.assertNotEqual(process.returncode, 0)
        # relaunch: resumes from the last checkpoint and ends where the uninterrupted run did
        resumed = subprocess.run([MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", "2", MEDPIPE,
                                  "run", event], cwd=self.tmp, capture_output=True, text=True,
                                 timeout=600, env=mpi_env())
        self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
        self.assertIn("resuming from", resumed.stderr)
        self.assertIdentical(reference, self.path("models", "killed", "model.pt"))
        self.assertEqual([f for f in os.listdir(self.path("models", "killed")) if ".tmp" in f], [])

    @unittest.skipUnless(MPIRUN, "OpenMPI's mpirun is not installed (scripts/install-deps.sh)")
    def test_a_hung_rank_stops_the_job_with_a_message(self):
        event = self.event("hung", batch_size=8, epochs=200, sync_timeout_s=3, hidden_units=1024)
        process = self.start_ranks(event)
        self.wait_for_checkpoints("hung", 2, process)
        pids = self.rank_pids(process)
        os.kill(max(pids), signal.SIGSTOP)  # alive but silent
        try:
            start = time.time()
            _, stderr = process.communicate(timeout=90)
            self.assertLess(time.time() - start, 60)
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.assertNotEqual(process.returncode, 0)
        self.assertIn("no answer from the other ranks", stderr)
        self.assertIn("resume", stderr)
        # whichever rank noticed, its message shows (another rank's with "rank k:" in front)
        status = self.medpipe("status", self.path("models", "hung"))
        self.assertRegex(status.stdout, r"state: (failed|stopped)")
        self.assertIn("no answer from the other ranks", status.stdout)
        for marker in CRASH_MARKERS:
            self.assertNotIn(marker, stderr)

    @unittest.skipUnless(MPIRUN, "OpenMPI's mpirun is not installed (scripts/install-deps.sh)")
    def test_sigterm_saves_on_every_rank_and_resumes(self):
        keys = dict(batch_size=8, epochs=200, checkpoint_every=0, hidden_units=2048)  # ~7 s: time to signal
        reference = self.train("reference", ranks=2, **keys)
        event = self.event("stopped", **keys)
        process = self.start_ranks(event)
        self.wait_for_checkpoints("stopped", 2, process)
        process.send_signal(signal.SIGTERM)  # mpirun forwards it to the ranks
        _, stderr = process.communicate(timeout=120)
        self.assertNotEqual(process.returncode, 0)
        self.assertIn("re-run the same event to resume", stderr)
        resumed = subprocess.run([MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", "2", MEDPIPE,
                                  "run", event], cwd=self.tmp, capture_output=True, text=True,
                                 timeout=600, env=mpi_env())
        self.assertEqual(resumed.returncode, 0, resumed.stderr[-3000:])
        self.assertIdentical(reference, self.path("models", "stopped", "model.pt"))

    @unittest.skipUnless(MPIRUN, "OpenMPI's mpirun is not installed (scripts/install-deps.sh)")
    def test_num_machines_that_disagrees_with_the_ranks_is_a_usage_error(self):
        event = self.event("mismatch", num_machines=3)
        result = subprocess.run([MPIRUN, "--oversubscribe", "--bind-to", "none", "-np", "2", MEDPIPE,
                                 "run", event], cwd=self.tmp, capture_output=True, text=True,
                                timeout=120, env=mpi_env())
        self.assertEqual(result.returncode, 2, result.stderr[-2000:])
        self.assertIn("num_machines is 3 but the MPI job has 2 ranks", result.stderr)


if __name__ == "__main__":
    unittest.main()
