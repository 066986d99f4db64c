"""Hostile or broken input, untrusted servers: each answer is a skip, a clear exit 2 or a resumable
exit 1, never a crash, a hang, a write outside the given folders, a secret in an output, or a
good file destroyed. Servers are Python fakes on loopback, started here."""
import http.server
import io
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest

import numpy as np

from medpipe_testlib import MEDPIPE, MedpipeTestCase, make_separable_set, write_event, write_labels


class FakeServer:
    """An HTTP server on 127.0.0.1 answering GETs with `answer(path_and_query) -> (status, type,
    body)`; counts the requests."""

    def __init__(self, answer):
        server = self
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.requests += 1
                status, content_type, body = answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def s3_listing(keys, truncated=False, token=""):
    contents = "".join(f"<Contents><Key>{k}</Key><ETag>\"e{i}\"</ETag><Size>10</Size></Contents>"
                       for i, k in enumerate(keys))
    more = (f"<IsTruncated>true</IsTruncated><NextContinuationToken>{token}</NextContinuationToken>"
            if truncated else "<IsTruncated>false</IsTruncated>")
    return (f"<?xml version='1.0' encoding='UTF-8'?><ListBucketResult>{contents}{more}"
            "</ListBucketResult>").encode()


def qido_instances(uids):
    return json.dumps([{"0020000D": {"vr": "UI", "Value": ["1.2"]},
                        "0020000E": {"vr": "UI", "Value": ["1.2.3"]},
                        "00080018": {"vr": "UI", "Value": [u]}} for u in uids]).encode()


def nested_sequences_dicom(path, depth):
    """A DICOM file whose one sequence nests `depth` deep (undefined lengths, explicit VR LE)."""
    uid = b"1.2.840.10008.1.2.1\0"
    meta = b"\x02\x00\x10\x00UI" + len(uid).to_bytes(2, "little") + uid
    open_level = b"\x08\x00\x15\x11SQ\x00\x00\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    close_level = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00" + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    with open(path, "wb") as f:
        f.write(b"\0" * 128 + b"DICM" + meta + open_level * depth + close_level * depth)


class HostileInputs(MedpipeTestCase):
    def run_with_server(self, answer, event, timeout=120, env=None):
        server = FakeServer(answer)
        try:
            write_event(self.path("e.json"), {k: (v.replace("PORT", str(server.port))
                                                  if isinstance(v, str) else v)
                                              for k, v in event.items()})
            full_env = {"MEDPIPE_CACHE_DIR": self.path("cache"), "AWS_ACCESS_KEY_ID": "k",
                        "AWS_SECRET_ACCESS_KEY": "s", **(env or {})}
            result = self.medpipe("run", "e.json", timeout=timeout, env=full_env)
            return result, server.requests
        finally:
            server.close()

    def assertNothingOutside(self, name):
        for root, _, files in os.walk(os.path.dirname(self.tmp)):
            if root.startswith(self.tmp):
                continue
            self.assertNotIn(name, files, f"{name} was written outside the run's folders, in {root}")

    # --- writes outside the folder it was given
    def test_s3_key_climbing_out_of_the_cache_is_refused(self):
        evil = f"escape_{os.getpid()}.png"
        answer = lambda path: (200, "application/xml", s3_listing(["in/a.png", f"in/../../../{evil}"]))
        result, _ = self.run_with_server(answer, {"images_bucket": "s3://bucket/in",
                                                  "s3_endpoint": "http://127.0.0.1:PORT"})
        self.assertUsageError(result, "the S3 object key", "..")
        self.assertNothingOutside(evil)

    def test_pacs_uid_that_is_not_a_uid_is_refused(self):
        answer = lambda path: (200, "application/dicom+json", qido_instances(["1.2.3.4", "../../x"]))
        result, _ = self.run_with_server(answer, {"images_bucket": "dicomweb://127.0.0.1:PORT/dicom-web"})
        self.assertResumableFailure(result, "not a DICOM UID")

    def test_model_name_that_climbs_out_or_is_empty_is_refused(self):
        make_separable_set(self.path("data"), 8)
        for name in ("../outside_model", "", "/abs"):
            write_event(self.path("e.json"), {"images_bucket": "data", "model_bucket_name": name})
            self.assertUsageError(self.medpipe("run", "e.json"), "model_bucket_name")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "outside_model")))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["data", "e.json"])  # nothing was written

    # --- outputs that would overwrite inputs
    def test_results_among_the_inputs_are_refused_before_anything_is_written(self):
        make_separable_set(self.path("data"), 12)
        write_event(self.path("t.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        self.assertDone(self.medpipe("run", "t.json"))
        before = {n: os.path.getmtime(self.path("data", "images", n))
                  for n in os.listdir(self.path("data", "images"))}
        for results in ("data/images", "data", "models/model", "."):
            write_event(self.path("p.json"), {"images_bucket": "data", "is_train": False,
                                              "results_bucket": results})
            self.assertUsageError(self.medpipe("run", "p.json"), "overlaps")
        after = {n: os.path.getmtime(self.path("data", "images", n))
                 for n in os.listdir(self.path("data", "images"))}
        self.assertEqual(before, after)
        self.assertFalse(os.path.exists(self.path("data", "images", "predictions.csv")))
        # a model folder among the training images
        write_event(self.path("t2.json"), {"images_bucket": "data", "models_bucket": "data/images"})
        self.assertUsageError(self.medpipe("run", "t2.json"), "overlaps")

    # --- one bad file ends the whole process
    def test_deeply_nested_dicom_is_refused_not_a_stack_overflow(self):
        nested_sequences_dicom(self.path("nested.dcm"), 10000)  # 360 KB
        self.assertGreater(os.path.getsize(self.path("nested.dcm")), 300000)
        r = self.medpipe("convert", "--info", "nested.dcm")
        self.assertUsageError(r, "nest more than 64")
        nested_sequences_dicom(self.path("shallow.dcm"), 5)  # no pixel data, but well formed
        r = self.medpipe("convert", "--info", "shallow.dcm")
        self.assertUsageError(r, "no pixel data")
        # in a run it is one skipped image among the others
        make_separable_set(self.path("data"), 10)
        nested_sequences_dicom(self.path("data", "images", "img_0001.dcm"), 10000)
        os.remove(self.path("data", "images", "img_0001.png"))
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        r = self.medpipe("run", "e.json")
        self.assertDone(r)
        with open(self.path("models", "model", "skipped.csv")) as f:
            skipped = f.read()
        self.assertIn("img_0001", skipped)
        self.assertIn("nest more than 64", skipped)

    def test_event_nested_200000_deep_is_refused(self):
        depth = 200000
        with open(self.path("e.json"), "w") as f:
            f.write('{"images_bucket": "x", "epochs": ' + "[" * depth + "]" * depth + "}")
        self.assertUsageError(self.medpipe("run", "e.json"), "nests more than")
        with open(self.path("s.json"), "w") as f:
            f.write('{"families": ' + "[" * depth + "]" * depth + "}")
        make_separable_set(self.path("data"), 4)
        r = self.medpipe("features", "--image", "data/images/img_0000.png", "--out", "f.csv",
                         "--config", "s.json")
        self.assertUsageError(r, "nests more than")

    # --- memory bombs: headers are checked against the file (and max_image_pixels) first
    def test_headers_that_lie_are_skipped_before_anything_is_allocated(self):
        import struct
        import zlib
        import pydicom
        from pydicom.dataset import FileDataset, FileMetaDataset
        from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
        from PIL import Image
        rows = make_separable_set(self.path("data"), 12)
        images = self.path("data", "images")

        def chunk(kind, data):
            return (struct.pack(">I", len(data)) + kind + data +
                    struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
        with open(os.path.join(images, "bomb.png"), "wb") as f:  # 389 bytes claiming 10^10 pixels
            f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
                    + chunk(b"IDAT", zlib.compress(b"\0" * 300)) + chunk(b"IEND", b""))

        def dicom(name, size, pixel_bytes):
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
            meta.MediaStorageSOPInstanceUID = generate_uid()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = FileDataset(name, {}, file_meta=meta, preamble=b"\0" * 128)
            ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
            ds.Rows = ds.Columns = size
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
            ds.PixelData = b"\x01" * pixel_bytes
            ds.save_as(os.path.join(images, name), write_like_original=False)
        dicom("huge.dcm", 65535, 100)      # 65535 x 65535 claimed, 100 bytes held
        dicom("cut.dcm", 64, 100)          # 64 x 64 claimed, 100 bytes held
        Image.fromarray(np.full((32, 32), 128, np.uint8)).save(os.path.join(images, "cut.jpg"))
        with open(os.path.join(images, "cut.jpg"), "rb") as f:
            data = f.read()
        with open(os.path.join(images, "cut.jpg"), "wb") as f:
            f.write(data[: len(data) // 2])
        os.rename(os.path.join(images, "cut.jpg"), os.path.join(images, "cutj.jpg"))
        # the PNG bomb named .jpg; a JPEG whose start-of-frame claims 65000 x 65000; a TIFF
        # whose directory claims 100000 x 100000; a TIFF cut in half (OpenCV's own stderr line)
        shutil.copy(os.path.join(images, "bomb.png"), os.path.join(images, "bombj.jpg"))
        jpeg = io.BytesIO()
        Image.fromarray(np.full((32, 32), 9, np.uint8)).save(jpeg, "JPEG")
        jpeg = bytearray(jpeg.getvalue())
        sof = jpeg.find(b"\xff\xc0")
        jpeg[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
        with open(os.path.join(images, "sof.jpg"), "wb") as f:
            f.write(bytes(jpeg))
        with open(os.path.join(images, "tiffbomb.tif"), "wb") as f:
            f.write(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 3) +
                    struct.pack("<HHII", 256, 4, 1, 100000) + struct.pack("<HHII", 257, 4, 1, 100000) +
                    struct.pack("<HHIHH", 277, 3, 1, 1, 0) + struct.pack("<I", 0) + b"\0" * 64)
        tiff = io.BytesIO()
        Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64).astype(np.uint8)).save(tiff, "TIFF")
        with open(os.path.join(images, "cutt.tif"), "wb") as f:
            f.write(tiff.getvalue()[: len(tiff.getvalue()) // 2])
        extra = ["bomb", "huge", "cut", "cutj", "bombj", "sof", "tiffbomb", "cutt"]
        write_labels(self.path("data", "labels.csv"),
                     [list(r) for r in rows] + [[name, i % 2] for i, name in enumerate(extra)])
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        r = self.medpipe("run", "e.json")
        self.assertDone(r)
        self.assertNotIn("imread_", r.stderr)  # OpenCV's own line stays out
        with open(self.path("models", "model", "skipped.csv")) as f:
            skipped = {row.split(",")[0]: row for row in f.read().splitlines()[1:]}
        self.assertEqual(sorted(skipped), sorted(extra))
        for name in ("bombj", "sof", "tiffbomb"):
            self.assertIn("max_image_pixels", skipped[name])
        self.assertIn("max_image_pixels", skipped["bomb"])
        self.assertIn("max_image_pixels", skipped["huge"])
        self.assertIn("a cut file", skipped["cut"])
        self.assertIn("cut short", skipped["cutj"])
        # a label array whose header claims 10^10 values, or a shape that overflows
        os.makedirs(self.path("seg", "images"))
        os.makedirs(self.path("seg", "masks"))
        for i in range(3):
            Image.fromarray(np.full((16, 16), 10 * i, np.uint8)).save(self.path("seg", "images", f"s{i}.png"))
            np.save(self.path("seg", "masks", f"s{i}.npy"), np.zeros((16, 16), np.uint8))
        for shape in ("(100000, 100000)", "(4611686018427387904, 4)"):
            header = "{'descr': '|u1', 'fortran_order': False, 'shape': " + shape + ", }"
            header += " " * (118 - len(header)) + "\n"
            with open(self.path("seg", "masks", "s1.npy"), "wb") as f:
                f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 900)
            write_event(self.path("s.json"), {"images_bucket": "seg", "label_style": "array",
                                              "epochs": 1, "num_machines": 1})
            r = self.medpipe("run", "s.json")
            self.assertUsageError(r, "s1.npy")

    def test_deflated_dicom_bomb_is_skipped(self):
        """A deflated DICOM whose dataset inflates far beyond what one image may hold."""
        import pydicom
        from pydicom.dataset import FileDataset, FileMetaDataset
        from pydicom.uid import DeflatedExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
        rows = make_separable_set(self.path("data"), 8)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
        ds = FileDataset("bomb", {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.add_new(0x00091010, "OB", b"\0" * (64 << 20))  # 64 MB of zeros: about 64 KB deflated
        ds.Rows = ds.Columns = 16
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = b"\1" * 256
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(self.path("data", "images", "bomb.dcm"), write_like_original=False)
        self.assertLess(os.path.getsize(self.path("data", "images", "bomb.dcm")), 1 << 20)
        write_labels(self.path("data", "labels.csv"), [list(r) for r in rows] + [["bomb", 1]])
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1,
                                          "max_image_pixels": 1000000})
        self.assertDone(self.medpipe("run", "e.json"))
        with open(self.path("models", "model", "skipped.csv")) as f:
            self.assertIn("inflates beyond", f.read())

    def test_max_image_pixels_is_honoured(self):
        make_separable_set(self.path("data"), 8)
        write_event(self.path("e.json"), {"images_bucket": "data", "max_image_pixels": 100})
        self.assertUsageError(self.medpipe("run", "e.json"), "could be decoded", "max_image_pixels")

    # --- hangs
    def test_nan_probabilities_are_refused_not_evaluated_forever(self):
        make_separable_set(self.path("data"), 6)
        os.makedirs(self.path("results", "model"))
        names = sorted(n[:-4] for n in os.listdir(self.path("data", "images")))
        for bad in ("nan", "inf", "-0.5", "1.5"):
            with open(self.path("results", "model", "predictions.csv"), "w") as f:
                f.write("image,prediction,prob_0,prob_1\n")
                for i, n in enumerate(names):
                    f.write(f"{n},0,{bad if i == 2 else 0.4},0.6\n")
            r = self.medpipe("evaluate", "--images-bucket", "data", timeout=60)
            self.assertUsageError(r, "line 4", "not a probability")

    def test_s3_listing_that_repeats_its_token_stops(self):
        answer = lambda path: (200, "application/xml",
                               s3_listing(["in/a.png"], truncated=True, token="same"))
        result, requests = self.run_with_server(answer, {"images_bucket": "s3://bucket/in",
                                                         "s3_endpoint": "http://127.0.0.1:PORT"},
                                                timeout=60)
        self.assertResumableFailure(result, "repeats its continuation token")
        self.assertLess(requests, 5)

    def test_pacs_that_ignores_offset_stops_paging(self):
        page = [f"1.2.3.{i}" for i in range(1000)]

        def answer(path):
            if "/instances?" in path:
                return 200, "application/dicom+json", qido_instances(page)
            return 404, "text/plain", b"no"
        result, requests = self.run_with_server(
            answer, {"images_bucket": "dicomweb://127.0.0.1:PORT/dicom-web",
                     "storage_retries": 1}, timeout=120)
        self.assertNoCrash(result)
        self.assertIn(result.returncode, (1, 2), result.stderr)
        # two QIDO pages (the second repeats the first: paging ends), then the first failing
        # fetches of the storage_concurrency workers
        self.assertLess(requests, 40)

    def test_stop_signal_ends_a_stage_within_seconds(self):
        # radiomics of 600 images (pipeline features) takes longer than the signal's delay;
        # SIGTERM must end the stage with exit 1 and a message, not a kill or a finished run
        make_separable_set(self.path("data"), 600, size=48)
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1,
                                          "threads": 1, "pipeline": "features"})
        p = subprocess.Popen([MEDPIPE, "run", "e.json"], cwd=self.tmp, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, MEDPIPE_CACHE_DIR=self.path("cache")))
        events = self.path("models", "model", "events.jsonl")
        deadline = time.time() + 60
        while time.time() < deadline and not os.path.exists(events):
            time.sleep(0.02)
        time.sleep(0.3)
        p.send_signal(signal.SIGTERM)
        start = time.time()
        _, err = p.communicate(timeout=60)
        self.assertLess(time.time() - start, 10)
        if p.returncode == 0:
            self.skipTest("the run finished before the signal landed")
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("signal", err)
        self.assertNotIn("Traceback", err)
        with open(events) as f:
            ends = [json.loads(line) for line in f if '"run_end"' in line]
        self.assertEqual(ends[-1]["exit_code"], 1)

    # --- secrets
    def test_passwords_in_urls_never_reach_messages_or_outputs(self):
        make_separable_set(self.path("data"), 8)
        secret = "hunter2secret"
        write_event(self.path("e.json"), {
            "images_bucket": "data", "epochs": 1, "num_machines": 1,
            "s3_endpoint": f"http://user:{secret}@127.0.0.1:9/",
            "auth_token": ["not", "a", "string", secret]})
        r = self.medpipe("run", "e.json")
        self.assertUsageError(r, "auth_token")
        self.assertNotIn(secret, r.stderr + r.stdout)
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1,
                                          "s3_endpoint": f"http://user:{secret}@127.0.0.1:9/"})
        r = self.medpipe("run", "e.json")
        self.assertDone(r)  # the endpoint is not used: every bucket is local
        self.assertNotIn(secret, r.stderr + r.stdout)
        for root, _, files in os.walk(self.tmp):
            for name in files:
                if root == self.tmp and name == "e.json":
                    continue  # the event itself
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(secret.encode(), f.read(), os.path.join(root, name))
        # a PACS URL with a password: the message and the cache folder's name keep it out
        r = self.medpipe("run", "e.json", "--set",
                         f"images_bucket=dicomweb://u:{secret}@127.0.0.1:9/dicom-web",
                         "--set", "storage_retries=1", "--set", "storage_timeout_s=2",
                         env={"MEDPIPE_CACHE_DIR": self.path("cache")})
        self.assertNoCrash(r)
        self.assertNotIn(secret, r.stderr + r.stdout)
        for root, dirs, files in os.walk(self.path("cache")):
            for name in dirs + files:
                self.assertNotIn(secret, name)

    # --- bad input used silently
    def test_numbers_outside_their_type_and_nulls_are_refused(self):
        make_separable_set(self.path("data"), 8)
        for key, value in (("epochs", 4294967297), ("epochs", -4294967295), ("seed", 1e30),
                           ("learning_rate", None), ("epochs", None)):
            write_event(self.path("e.json"), {"images_bucket": "data", key: value})
            self.assertUsageError(self.medpipe("run", "e.json"), key)

    def test_duplicated_level_column_is_refused(self):
        make_separable_set(self.path("data"), 8)
        rows = [l.rstrip("\n").split(",") for l in open(self.path("data", "labels.csv"))][1:]
        write_labels(self.path("data", "labels.csv"), [r + [1 - int(r[1])] for r in rows],
                     header=("image", "level", "level"))
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1})
        self.assertUsageError(self.medpipe("run", "e.json"), "more than once", "level")

    def test_a_dicomdir_in_the_images_folder_is_not_an_image(self):
        make_separable_set(self.path("data"), 8)
        with open(self.path("data", "images", "DICOMDIR"), "wb") as f:
            f.write(b"\0" * 128 + b"DICM" + b"\0" * 64)
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        self.assertDone(self.medpipe("run", "e.json"))

    def test_num_machines_far_above_the_cores_is_refused(self):
        make_separable_set(self.path("data"), 8)
        write_event(self.path("e.json"), {"images_bucket": "data", "num_machines": 1000})
        self.assertUsageError(self.medpipe("run", "e.json"), "num_machines", "cores")

    # --- "can be resumed" that never recovered
    def test_damaged_cache_entry_is_rebuilt(self):
        make_separable_set(self.path("data"), 12)
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1,
                                          "val_fraction": 0})
        env = {"MEDPIPE_CACHE_DIR": self.path("c")}
        self.assertDone(self.medpipe("run", "e.json", env=env))
        cache = self.path("models", ".cache")
        for name in os.listdir(cache):
            path = os.path.join(cache, name)
            if name.endswith(".json"):
                with open(path, "w") as f:
                    f.write('{"count": 3')  # cut short
            elif name.endswith(".bin"):
                os.truncate(path, 10)
        r = self.medpipe("run", "e.json", env=env)
        self.assertDone(r)
        self.assertIn("damaged", r.stderr)

    def test_latin1_file_name_is_used_not_fatal(self):
        rows = make_separable_set(self.path("data"), 10)
        latin1 = b"caf\xe9"  # not UTF-8
        images = os.fsencode(self.path("data", "images"))
        os.rename(os.path.join(images, b"img_0000.png"), os.path.join(images, latin1 + b".png"))
        with open(self.path("data", "labels.csv"), "wb") as f:
            f.write(b"image,level\n" + b"".join(
                (latin1 if n == "img_0000" else n.encode()) + b"," + str(l).encode() + b"\n"
                for n, l in rows))
        write_event(self.path("t.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        self.assertDone(self.medpipe("run", "t.json"))
        write_event(self.path("p.json"), {"images_bucket": "data", "is_train": False})
        self.assertDone(self.medpipe("run", "p.json"))
        self.assertTrue(os.path.exists(os.path.join(os.fsencode(self.path("results", "model")),
                                                    latin1 + b".json")))
        self.assertDone(self.medpipe("evaluate", "--images-bucket", "data"))

    def test_symlink_loops_in_the_images_folder_are_passed_over(self):
        make_separable_set(self.path("data"), 10)
        os.symlink("loop", self.path("data", "images", "loop"))
        os.symlink("b.png", self.path("data", "images", "a.png"))
        os.symlink("a.png", self.path("data", "images", "b.png"))
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        self.assertDone(self.medpipe("run", "e.json"))

    def test_model_pt_and_model_json_that_disagree_are_a_usage_error(self):
        make_separable_set(self.path("data"), 10)
        write_event(self.path("t.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        self.assertDone(self.medpipe("run", "t.json"))
        meta_path = self.path("models", "model", "model.json")
        with open(meta_path) as f:
            meta = json.load(f)
        meta["num_classes"] = meta["model"]["num_classes"] = 3
        with open(meta_path, "w") as f:
            json.dump(meta, f)
        write_event(self.path("p.json"), {"images_bucket": "data", "is_train": False,
                                          "has_labels": False})
        self.assertUsageError(self.medpipe("run", "p.json"), "do not belong together")

    def test_disk_full_while_the_model_is_written_is_a_resumable_exit_1(self):
        make_separable_set(self.path("data"), 24)
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 2, "num_machines": 1})
        os.makedirs(self.path("models"))
        # the model folder on a 256 KB tmpfs of a private mount namespace: the 11 MB model.pt
        # (and the training states) cannot fit
        script = (f"mount -t tmpfs -o size=256k tmpfs {self.path('models')} && "
                  f"cd {self.tmp} && MEDPIPE_CACHE_DIR={self.path('cache')} {MEDPIPE} run e.json "
                  f"--set cache_dir={self.path('tensors')}")
        r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                           timeout=300)
        if "mount" in r.stderr and r.returncode != 1:
            self.skipTest("no private mount namespace here: " + r.stderr[-200:])
        self.assertNoCrash(r)
        self.assertEqual(r.returncode, 1, r.stderr[-3000:])
        self.assertIn("disk full", r.stderr)
        self.assertIn("resumed", r.stderr)
        # with room again, the same command completes
        self.assertDone(self.medpipe("run", "e.json", "--set", f"cache_dir={self.path('tensors')}"))

    def test_dicom_is_known_by_its_preamble_whatever_its_name(self):
        self.assertDone(self.medpipe("synth", "--out", "data", "--count", "12", "--size", "16",
                                     "--format", "dicom"))
        images = self.path("data", "images")
        names = {}
        for i, n in enumerate(sorted(os.listdir(images))):
            new = f"1.2.826.0.1.3680043.8.498.{i + 10}" if i % 2 else f"{n[:-4]}.seg"
            os.rename(os.path.join(images, n), os.path.join(images, new))
            names[n[:-4]] = new if i % 2 else n[:-4]  # a UID is its whole name; x.seg is x
        with open(self.path("data", "labels.csv")) as f:
            rows = [line.split(",") for line in f.read().splitlines()[1:]]
        write_labels(self.path("data", "labels.csv"), [[names[n], l] for n, l in rows])
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        self.assertDone(self.medpipe("run", "e.json"))
        write_event(self.path("p.json"), {"images_bucket": "data", "is_train": False})
        self.assertDone(self.medpipe("run", "p.json"))
        with open(self.path("results", "model", "predictions.csv")) as f:
            predicted = sorted(line.split(",")[0] for line in f.read().splitlines()[1:])
        self.assertEqual(predicted, sorted(names.values()))

    def test_file_names_are_trimmed_as_the_csv_names_are(self):
        make_separable_set(self.path("data"), 8)
        os.rename(self.path("data", "images", "img_0003.png"), self.path("data", "images", "img_0003 .png"))
        write_event(self.path("e.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        self.assertDone(self.medpipe("run", "e.json"))

    def test_long_image_names_and_stale_temps(self):
        make_separable_set(self.path("data"), 8)
        long_name = "x" * 240  # legal (under 255 bytes), but name + ".json.tmp.<pid>.<n>" is not
        os.rename(self.path("data", "images", "img_0000.png"), self.path("data", "images", long_name + ".png"))
        rows = [l.rstrip("\n").split(",") for l in open(self.path("data", "labels.csv"))][1:]
        rows = [[long_name if r[0] == "img_0000" else r[0], r[1]] for r in rows]
        write_labels(self.path("data", "labels.csv"), rows)
        write_event(self.path("t.json"), {"images_bucket": "data", "epochs": 1, "num_machines": 1})
        self.assertDone(self.medpipe("run", "t.json"))
        os.makedirs(self.path("results", "model"))
        stale = self.path("results", "model", "predictions.csv.tmp.999999.0")
        open(stale, "w").close()
        write_event(self.path("p.json"), {"images_bucket": "data", "is_train": False})
        self.assertDone(self.medpipe("run", "p.json"))
        self.assertTrue(os.path.exists(self.path("results", "model", long_name + ".json")))
        self.assertFalse(os.path.exists(stale))
        self.assertEqual([n for n in os.listdir(self.path("results", "model")) if ".tmp." in n], [])


if __name__ == "__main__":
    unittest.main()
