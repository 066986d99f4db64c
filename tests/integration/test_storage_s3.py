"""s3:// buckets against a real S3 endpoint started here: moto's server on loopback with
signature checking on (an IAM user and key are made first; a wrong secret must fail)."""
import csv
import glob
import json
import os
import shutil
import socket
import subprocess
import time
import unittest

from medpipe_testlib import MedpipeTestCase, SHARED_DATA, make_separable_set, read_csv_rows

MOTO = shutil.which("moto_server")

SETUP = r'''
import boto3, json, sys
endpoint = sys.argv[1]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="medpipe")
key = iam.create_access_key(UserName="medpipe")["AccessKey"]
iam.put_user_policy(UserName="medpipe", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
'''

UPLOAD = r'''
import boto3, os, sys
endpoint, key_id, secret, bucket, folder, prefix = sys.argv[1:7]  # folder "": the bucket only
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key_id, aws_secret_access_key=secret)
if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
    s3.create_bucket(Bucket=bucket)
for root, _, files in os.walk(folder) if folder else []:
    for name in files:
        path = os.path.join(root, name)
        s3.upload_file(path, bucket, prefix + "/" + os.path.relpath(path, folder))
'''

DELETE = r'''
import boto3, sys
endpoint, key_id, secret, bucket, key = sys.argv[1:6]
boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key_id,
             aws_secret_access_key=secret).delete_object(Bucket=bucket, Key=key)
'''

DOWNLOAD = r'''
import boto3, sys
endpoint, key_id, secret, bucket, key, out = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key_id, aws_secret_access_key=secret)
s3.download_file(bucket, key, out)
'''


class FlakyProxy:
    """Forwards to the S3 endpoint but answers every `every`-th request with HTTP 500 itself."""

    def __init__(self, target_port, every=3, down_after=None, slow_s=0):
        import http.client
        import http.server
        import threading
        proxy = self
        self.failures = 0
        self.count = 0
        self.down_after = down_after  # None: healthy (a test may heal it)
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    proxy.count += 1
                    fail = proxy.count % every == 1 or (
                        proxy.down_after is not None and proxy.count > proxy.down_after)
                    proxy.failures += fail
                if fail and slow_s:
                    import time
                    time.sleep(slow_s)  # then answer normally: the client has given up by now
                    fail = False
                if fail:
                    payload = b"<Error><Code>InternalError</Code></Error>"
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", target_port, timeout=30)
                upstream.putrequest(self.command, self.path, skip_host=True,
                                    skip_accept_encoding=True)
                for name, value in self.headers.items():
                    upstream.putheader(name, value)
                upstream.endheaders(body)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = relay

        class QuietServer(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that timed out and left: expected here

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def python_with_boto3():
    for candidate in (shutil.which("python3"), "/usr/bin/python3"):
        if candidate and subprocess.run([candidate, "-c", "import boto3"],
                                        capture_output=True).returncode == 0:
            return candidate
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(MOTO, "moto_server not found: the S3 tests need moto's server on PATH")
class S3Storage(MedpipeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.python = python_with_boto3()
        if not cls.python:
            raise unittest.SkipTest("no Python with boto3 to set up moto's IAM user")
        port = free_port()
        cls.endpoint = f"http://127.0.0.1:{port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        cls.server = subprocess.Popen([MOTO, "-H", "127.0.0.1", "-p", str(port)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        out = subprocess.run([cls.python, "-c", SETUP, cls.endpoint], capture_output=True,
                             text=True, check=True)
        cls.key = json.loads(out.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)

    def s3_env(self, secret=None):
        return {"AWS_ACCESS_KEY_ID": self.key["id"],
                "AWS_SECRET_ACCESS_KEY": secret or self.key["secret"],
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": "us-east-1",
                "MEDPIPE_CACHE_DIR": self.path("cache")}

    def upload(self, folder, bucket, prefix):
        subprocess.run([self.python, "-c", UPLOAD, self.endpoint, self.key["id"],
                        self.key["secret"], bucket, folder, prefix], check=True)

    def download(self, bucket, key, out):
        subprocess.run([self.python, "-c", DOWNLOAD, self.endpoint, self.key["id"],
                        self.key["secret"], bucket, key, out], check=True)

    def event(self, name, **keys):
        base = {"epochs": 2, "num_machines": 1, "threads": 1, "seed": 3, "val_fraction": 0}
        with open(self.path(name), "w") as f:
            json.dump({**base, **keys}, f)
        return name

    def breastmnist_subset(self, split, folder, count):
        """The first `count` images of BreastMNIST's split with their labels (the acceptance's
        data); a synthetic set where the shared data is absent."""
        source = os.path.join(SHARED_DATA, "breastmnist", split)
        if not os.path.isdir(source):
            make_separable_set(self.path(folder), count, size=16, seed=len(folder))
            return
        os.makedirs(self.path(folder, "images"))
        rows = read_csv_rows(os.path.join(source, "labels.csv"))[:count]
        for row in rows:
            shutil.copy(os.path.join(source, "images", row["image"] + ".png"),
                        self.path(folder, "images"))
        with open(self.path(folder, "labels.csv"), "w") as f:
            f.write("image,level\n" + "".join(f"{r['image']},{r['level']}\n" for r in rows))

    def test_s3_buckets_give_the_local_predictions(self):
        self.breastmnist_subset("train", "train", 24)
        self.breastmnist_subset("val", "test", 10)
        self.upload(self.path("train"), "data", "train")
        self.upload(self.path("test"), "data", "test")
        self.upload("", "models", "")
        self.upload("", "results", "")
        # local
        self.assertDone(self.medpipe("run", self.event("l1.json", images_bucket="train",
                                                       model_bucket_name="m")))
        self.assertDone(self.medpipe("run", self.event(
            "l2.json", images_bucket="test", is_train=False, model_bucket_name="m",
            results_bucket="results_local")))
        # the same through s3://
        env = self.s3_env()
        r = self.medpipe("run", self.event("s1.json", images_bucket="s3://data/train",
                                           models_bucket="s3://models/runs", model_bucket_name="m"),
                         env=env)
        self.assertDone(r)
        r = self.medpipe("run", self.event(
            "s2.json", images_bucket="s3://data/test", is_train=False, model_bucket_name="m",
            models_bucket="s3://models/runs", results_bucket="s3://results/run1"), env=env)
        self.assertDone(r)
        self.download("results", "run1/predictions.csv", self.path("s3_predictions.csv"))
        local = read_csv_rows(self.path("results_local", "predictions.csv"))
        remote = read_csv_rows(self.path("s3_predictions.csv"))
        self.assertEqual(local, remote)
        self.download("models", "runs/m/model.json", self.path("model.json"))
        # a second inference fetches nothing again (ETag cache)
        r = self.medpipe("run", "s2.json", env=env)
        self.assertDone(r)
        self.assertIn("s3://data/test: 11 object(s), 0 fetched", r.stderr)

    def test_injected_500s_are_retried_and_the_run_completes(self):
        make_separable_set(self.path("train"), 12, size=16, seed=1)
        self.upload(self.path("train"), "flaky", "train")
        self.upload("", "flaky-out", "")
        port = int(self.endpoint.rsplit(":", 1)[1])
        proxy = FlakyProxy(port, every=3)
        try:
            env = dict(self.s3_env(), AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}")
            r = self.medpipe("run", self.event("e.json", images_bucket="s3://flaky/train",
                                               models_bucket="s3://flaky-out/models"), env=env)
            self.assertDone(r)
            self.assertGreater(proxy.failures, 3)
            self.assertIn("13 object(s), 13 fetched", r.stderr)
            self.assertIn("stored", r.stderr)
        finally:
            proxy.close()

    def test_slow_responses_are_cut_by_the_timeout_and_retried(self):
        make_separable_set(self.path("train"), 8, size=16, seed=1)
        self.upload(self.path("train"), "slow", "train")
        port = int(self.endpoint.rsplit(":", 1)[1])
        proxy = FlakyProxy(port, every=4, slow_s=4)
        try:
            env = dict(self.s3_env(), AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}")
            r = self.medpipe("run", self.event("e.json", images_bucket="s3://slow/train",
                                               storage_timeout_s=1), env=env)
        finally:
            proxy.close()
        self.assertDone(r)
        self.assertGreaterEqual(proxy.failures, 2)
        self.assertIn("9 object(s), 9 fetched", r.stderr)

    def test_server_gone_mid_run_stops_clearly_and_the_rerun_resumes(self):
        make_separable_set(self.path("train"), 30, size=16, seed=1)
        self.upload(self.path("train"), "gone", "train")
        port = int(self.endpoint.rsplit(":", 1)[1])
        # every request fails once the listing and some downloads have gone through
        proxy = FlakyProxy(port, every=10 ** 9, down_after=12)
        try:
            env = dict(self.s3_env(), AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}")
            r = self.medpipe("run", self.event("e.json", images_bucket="s3://gone/train",
                                               storage_retries=2, storage_concurrency=1), env=env)
            self.assertResumableFailure(r, "HTTP 500", "re-run")
            mirror = self.mirror("gone", "train")
            kept = [f for _, _, files in os.walk(mirror) for f in files]
            self.assertTrue(kept, "the objects fetched before the failure are kept")
            self.assertFalse([f for f in kept if ".tmp." in f], "no partial file is left")
            # the server is back (the same endpoint): the re-run fetches only what is missing
            proxy.down_after = None
            r = self.medpipe("run", "e.json", env=env)
        finally:
            proxy.close()
        self.assertDone(r)
        self.assertIn(f"31 object(s), {31 - len(kept)} fetched", r.stderr)

    def mirror(self, bucket, prefix):
        """The one mirror of s3://bucket/prefix in the cache (under its endpoint's folder)."""
        found = glob.glob(self.path("cache", "s3", "*", bucket, prefix))
        self.assertEqual(len(found), 1, found)
        return found[0]

    def test_two_endpoints_with_the_same_bucket_name_do_not_share_a_mirror(self):
        make_separable_set(self.path("train"), 12, size=16, seed=1)
        self.upload(self.path("train"), "twin", "train")
        event = self.event("e.json", images_bucket="s3://twin/train", epochs=1)
        self.assertDone(self.medpipe("run", event, env=self.s3_env()))
        port = int(self.endpoint.rsplit(":", 1)[1])
        proxy = FlakyProxy(port, every=10 ** 9)  # another endpoint, same bucket behind it
        try:
            env = dict(self.s3_env(), AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}")
            r = self.medpipe("run", event, env=env)
        finally:
            proxy.close()
        self.assertDone(r)
        self.assertIn("13 object(s), 13 fetched", r.stderr)  # nothing taken from the other's mirror
        mirrors = glob.glob(self.path("cache", "s3", "*", "twin", "train"))
        self.assertEqual(len(mirrors), 2, mirrors)
        self.assertIn(f"127.0.0.1_{proxy.port}", "".join(mirrors))

    def test_an_object_deleted_from_the_bucket_is_not_used_from_the_cache(self):
        rows = make_separable_set(self.path("train"), 12, size=16, seed=1)
        self.upload(self.path("train"), "pruned", "train")
        event = self.event("e.json", images_bucket="s3://pruned/train", epochs=1)
        self.assertDone(self.medpipe("run", event, env=self.s3_env()))
        mirror = self.mirror("pruned", "train")
        self.assertTrue(os.path.exists(os.path.join(mirror, "images", "img_0000.png")))
        with open(self.path("train", "labels.csv"), "w") as f:
            f.write("image,level\n" + "".join(f"{n},{l}\n" for n, l in rows if n != "img_0000"))
        os.remove(self.path("train", "images", "img_0000.png"))
        self.upload(self.path("train"), "pruned", "train")  # labels.csv without img_0000
        subprocess.run([self.python, "-c", DELETE, self.endpoint, self.key["id"],
                        self.key["secret"], "pruned", "train/images/img_0000.png"], check=True)
        r = self.medpipe("run", event, env=self.s3_env())
        self.assertDone(r)
        self.assertIn("12 object(s)", r.stderr)  # 11 images and labels.csv
        self.assertIn("no longer in the bucket", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(mirror, "images", "img_0000.png")))

    def test_unreachable_endpoint_stops_with_a_clear_message(self):
        env = dict(self.s3_env(), AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
        r = self.medpipe("run", self.event("e.json", images_bucket="s3://data/train",
                                           storage_retries=2), env=env)
        self.assertNoCrash(r)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot reach the S3 endpoint", r.stderr)
        self.assertIn("2 attempts", r.stderr)

    def test_wrong_secret_is_refused_without_printing_it(self):
        make_separable_set(self.path("train"), 4, size=16, seed=1)
        self.upload(self.path("train"), "data2", "train")
        wrong = "WRONG" + self.key["secret"][5:]
        r = self.medpipe("run", self.event("e.json", images_bucket="s3://data2/train"),
                         env=self.s3_env(secret=wrong))
        self.assertUsageError(r, "S3 refused", "credentials")
        self.assertNotIn(wrong, r.stdout + r.stderr)
        self.assertNotIn(self.key["secret"], r.stdout + r.stderr)

    def test_missing_bucket_is_a_clear_error(self):
        r = self.medpipe("run", self.event("e.json", images_bucket="s3://no-such-bucket/x"),
                         env=self.s3_env())
        self.assertUsageError(r, "no-such-bucket", "does not exist", "NoSuchBucket")


if __name__ == "__main__":
    unittest.main()
