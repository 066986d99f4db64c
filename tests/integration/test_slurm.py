"""Slurm, for real: a one-machine cluster (Debian's munge, slurmctld and slurmd, configured in a
temporary folder on free ports) runs the job-script template of docs/slurm.md: a 2-task batch
job of `srun --mpi=pmix medpipe run`. One job is cancelled with scancel mid-training and
requeued; it resumes from its checkpoint and ends with the same weights as an uninterrupted job.
Skips with the reason where Slurm cannot start (not installed, not root)."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import torch

from medpipe_testlib import MEDPIPE, MedpipeTestCase, write_event

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "scancel", "scontrol", "squeue")
TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "slurm_job.sh")


def read(path):
    with open(path) as f:
        return f.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def why_slurm_cannot_start():
    missing = [d for d in DAEMONS if not shutil.which(d)]
    if missing:
        return "Slurm is not installed (%s missing; scripts/install-deps.sh)" % ", ".join(missing)
    if os.geteuid() != 0:
        return "slurmd must run as root to start jobs"
    return None


class SlurmCluster:
    """munged + slurmctld + slurmd in `root`, on free ports; `env` points the clients at it."""

    def __init__(self, root):
        self.root = root
        self.processes = []
        for sub in ("munge", "state", "spool", "log"):
            os.makedirs(os.path.join(root, sub))
        os.chmod(os.path.join(root, "munge"), 0o700)
        key = os.path.join(root, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.socket = os.path.join(root, "munge", "munge.socket")
        self.conf = os.path.join(root, "slurm.conf")
        host = socket.gethostname().split(".")[0]
        with open(self.conf, "w") as f:
            f.write(f"""ClusterName=medpipetest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
AuthInfo=socket={self.socket}
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=5
InactiveLimit=0
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
""")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def start(self):
        m = os.path.join(self.root, "munge")
        self.spawn(["munged", "--foreground", "--force", "--key-file", m + "/munge.key", "--socket",
                    self.socket, "--pid-file", m + "/munged.pid", "--log-file", m + "/munged.log",
                    "--seed-file", m + "/seed"])
        self.wait_for(lambda: os.path.exists(self.socket), "munged's socket")
        self.spawn(["slurmctld", "-D", "-i"])
        self.spawn(["slurmd", "-D"])
        self.wait_for(lambda: "idle" in self.run("sinfo", "-h", "-o", "%T").stdout, "an idle node")

    def spawn(self, cmd):
        self.processes.append(subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL, start_new_session=True))

    def run(self, *cmd):
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=60)

    def wait_for(self, ready, what, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"Slurm did not start: no {what} in {timeout} s\n" + self.logs())

    def logs(self):
        text = ""
        for name in ("slurmctld.log", "slurmd.log"):
            path = os.path.join(self.root, "log", name)
            if os.path.exists(path):
                text += f"--- {name}\n" + read(path)[-2000:]
        return text

    def state(self, job):
        out = self.run("scontrol", "show", "job", job).stdout
        for field in out.split():
            if field.startswith("JobState="):
                return field.split("=", 1)[1]
        return "UNKNOWN"

    def stop(self):
        for p in reversed(self.processes):
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)


class Slurm(MedpipeTestCase):
    @classmethod
    def setUpClass(cls):
        reason = why_slurm_cannot_start()
        if reason:
            raise unittest.SkipTest(reason)
        cls.root = tempfile.mkdtemp(prefix="medpipe_slurm_")
        cls.cluster = SlurmCluster(os.path.join(cls.root, "cluster"))
        try:
            cls.cluster.start()
        except RuntimeError as e:
            cls.cluster.stop()
            raise unittest.SkipTest(str(e))

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def submit(self, name):
        """sbatch of the template for event `name`.json; returns the job id."""
        with open(TEMPLATE) as f:
            script = f.read().replace("MEDPIPE=medpipe", "MEDPIPE=" + MEDPIPE)
        path = self.path(name + ".sh")
        with open(path, "w") as f:
            f.write(script)
        result = self.cluster.run("sbatch", "--parsable", "--chdir", self.tmp, "--job-name", name,
                                  "--output", self.path(name + ".out"), "--open-mode", "append",
                                  path, name + ".json")
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.strip().split(";")[0]

    def wait_until(self, job, states, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.cluster.state(job)
            if state in states:
                return state
            time.sleep(0.5)
        self.fail(f"job {job} not {states} in {timeout} s (is {state})\n" + self.cluster.logs())

    def checkpoints(self, name):
        log = self.path("models", name, "events.jsonl")
        return read(log).count('"event":"checkpoint"') if os.path.exists(log) else 0

    def test_a_cancelled_and_requeued_job_resumes_to_the_same_weights(self):
        subprocess.run([MEDPIPE, "synth", "--out", "d", "--count", "64", "--size", "16"],
                       cwd=self.tmp, check=True, capture_output=True)
        keys = {"images_bucket": "d", "epochs": 20, "batch_size": 8, "checkpoint_every": 5,
                "val_fraction": 0, "augment": False, "seed": 3}
        for name in ("whole", "requeued"):
            write_event(self.path(name + ".json"), {**keys, "model_bucket_name": name})
        whole = self.submit("whole")
        self.assertEqual(self.wait_until(whole, {"COMPLETED", "FAILED", "CANCELLED"}), "COMPLETED",
                         read(self.path("whole.out"))[-3000:])

        job = self.submit("requeued")
        deadline = time.time() + 300
        while self.checkpoints("requeued") < 3 and time.time() < deadline:
            time.sleep(0.1)
        self.assertGreaterEqual(self.checkpoints("requeued"), 3, read(self.path("requeued.out")))
        self.assertEqual(self.cluster.run("scancel", job).returncode, 0)
        self.wait_until(job, {"CANCELLED"})
        self.assertFalse(os.path.exists(self.path("models", "requeued", "model.pt")))
        requeue = self.cluster.run("scontrol", "requeue", job)
        self.assertEqual(requeue.returncode, 0, requeue.stderr)
        self.assertEqual(self.wait_until(job, {"COMPLETED", "FAILED"}), "COMPLETED",
                         read(self.path("requeued.out"))[-3000:])
        output = read(self.path("requeued.out"))
        self.assertIn("resuming from", output)
        a = dict(torch.jit.load(self.path("models", "whole", "model.pt")).named_parameters())
        b = dict(torch.jit.load(self.path("models", "requeued", "model.pt")).named_parameters())
        self.assertEqual(sorted(a), sorted(b))
        for key in a:
            self.assertTrue(torch.equal(a[key], b[key]), key)


if __name__ == "__main__":
    unittest.main()
