"""DICOMweb faults, tested like S3's: a PACS that is down, answers 500s, answers slowly (cut by
storage_timeout_s and retried), or dies mid-fetch (the re-run fetches only what is missing).
The PACS is a Python fake on loopback serving QIDO-RS and WADO-RS for DICOM files that
`medpipe synth --format dicom` wrote; pydicom reads their UIDs."""
import http.server
import json
import os
import socket
import threading
import time
import unittest

import pydicom

from medpipe_testlib import MedpipeTestCase, write_event

BOUNDARY = "medpipe-test-boundary"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakePacs:
    """QIDO-RS /instances and WADO-RS instance retrieval; `fault(n, path)` may answer request n
    itself: a status to send instead, or a delay in seconds before answering."""

    def __init__(self, files, fault=lambda n, path: None, port=0):
        self.by_uid = {}
        for path in files:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            self.by_uid[str(ds.SOPInstanceUID)] = (str(ds.StudyInstanceUID),
                                                   str(ds.SeriesInstanceUID), path)
        self.requests = 0
        self.wado = 0
        pacs = self
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                with lock:
                    pacs.requests += 1
                    n = pacs.requests
                action = fault(n, self.path)
                if isinstance(action, (int, float)) and 0 < action < 100:
                    time.sleep(action)
                elif isinstance(action, int) and action >= 100:
                    return self.answer(action, "text/plain", b"injected")
                if "/instances?" in self.path:
                    return self.qido()
                uid = self.path.rsplit("/", 1)[-1]
                if uid not in pacs.by_uid:
                    return self.answer(404, "text/plain", b"no such instance")
                with lock:
                    pacs.wado += 1
                with open(pacs.by_uid[uid][2], "rb") as f:
                    part = f.read()
                body = (f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part +
                        f"\r\n--{BOUNDARY}--\r\n".encode())
                self.answer(200, f'multipart/related; type="application/dicom"; boundary={BOUNDARY}',
                            body)

            def qido(self):
                query = dict(p.split("=", 1) for p in self.path.split("?", 1)[1].split("&"))
                offset, limit = int(query.get("offset", 0)), int(query.get("limit", 1000))
                uids = sorted(pacs.by_uid)[offset:offset + limit]
                items = [{"0020000D": {"vr": "UI", "Value": [pacs.by_uid[u][0]]},
                          "0020000E": {"vr": "UI", "Value": [pacs.by_uid[u][1]]},
                          "00080018": {"vr": "UI", "Value": [u]}} for u in uids]
                self.answer(200, "application/dicom+json", json.dumps(items).encode())

            def answer(self, status, content_type, body):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): as a slow PACS would see it

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class DicomWebFaults(MedpipeTestCase):
    def setUp(self):
        super().setUp()
        r = self.medpipe("synth", "--out", "data", "--count", "16", "--size", "16", "--format",
                         "dicom", "--seed", "4")
        self.assertDone(r)
        images = self.path("data", "images")
        self.files = sorted(os.path.join(images, n) for n in os.listdir(images))
        levels = {}
        with open(self.path("data", "labels.csv")) as f:
            for line in f.read().splitlines()[1:]:
                name, level = line.split(",")
                levels[name] = level
        with open(self.path("labels_sop.csv"), "w") as f:
            f.write("image,level\n")
            for path in self.files:
                uid = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
                f.write(f"{uid},{levels[os.path.basename(path)[:-4]]}\n")
        self.env = {"MEDPIPE_CACHE_DIR": self.path("cache")}

    def run_against(self, pacs_port, **keys):
        event = {"images_bucket": f"dicomweb://127.0.0.1:{pacs_port}/dicom-web",
                 "labels": "labels_sop.csv", "epochs": 1, "num_machines": 1, "threads": 1,
                 "val_fraction": 0, "storage_concurrency": 2, **keys}
        write_event(self.path("e.json"), event)
        return self.medpipe("run", "e.json", env=self.env, timeout=300)

    def test_pacs_down_stops_with_a_clear_message(self):
        r = self.run_against(free_port(), storage_retries=2)
        self.assertNoCrash(r)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot reach the DICOMweb service", r.stderr)
        self.assertIn("2 attempts", r.stderr)

    def test_injected_500s_are_retried_and_the_run_completes(self):
        pacs = FakePacs(self.files, fault=lambda n, path: 500 if n % 3 == 0 else None)
        try:
            r = self.run_against(pacs.port, storage_retries=4)
        finally:
            pacs.close()
        self.assertDone(r)
        self.assertEqual(pacs.wado, 16)

    def test_slow_answers_are_cut_by_storage_timeout_s_and_retried(self):
        slow = set()

        def fault(n, path):
            if "/instances/" in path and path not in slow:  # each instance is slow once
                slow.add(path)
                return 3
            return None
        pacs = FakePacs(self.files, fault=fault)
        try:
            start = time.time()
            r = self.run_against(pacs.port, storage_timeout_s=1, storage_retries=3)
            seconds = time.time() - start
        finally:
            pacs.close()
        self.assertDone(r)
        # 16 instances slow once each, 2 at a time: cut at 1 s (about 8 s in all), not waited
        # for 3 s each (24 s in all, as with the fixed 300 s timeout before)
        self.assertLess(seconds, 16)
        self.assertEqual(len(slow), 16)

    def test_pacs_dying_mid_fetch_then_the_rerun_fetches_only_what_is_missing(self):
        dead_after = 9  # requests: the QIDO page and 8 instances, then only 500s
        pacs = FakePacs(self.files, fault=lambda n, path: 500 if n > dead_after else None)
        try:
            r = self.run_against(pacs.port, storage_retries=2)
        finally:
            pacs.close()
        self.assertResumableFailure(r, "HTTP 500", "re-run")
        fetched = pacs.wado
        self.assertGreater(fetched, 0)
        mirror = [f for _, _, files in os.walk(self.path("cache")) for f in files]
        self.assertFalse([f for f in mirror if ".tmp." in f], "no partial instance is left")
        healthy = FakePacs(self.files, port=pacs.port)  # the same PACS, back: the same mirror
        try:
            r = self.run_against(healthy.port, storage_retries=2)
        finally:
            healthy.close()
        self.assertDone(r)
        self.assertEqual(healthy.wado, 16 - fetched)


if __name__ == "__main__":
    unittest.main()
