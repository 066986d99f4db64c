"""dicomweb:// buckets against a real PACS started here: Debian's Orthanc with its DICOMweb
plugin, inside its own network namespace (`unshare -n`, loopback only; Orthanc cannot bind to
loopback alone), with medpipe run inside the same namespace."""
import csv
import json
import os
import shutil
import subprocess
import unittest

from medpipe_testlib import MEDPIPE, SHARED_DATA, MedpipeTestCase, read_csv_rows

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def read_text(path):
    with open(path) as f:
        return f.read()


def upload_commands(folder):
    """Shell commands storing every file of `folder` in the test's Orthanc (its REST API)."""
    return " ; ".join(
        f"curl -sf -X POST --data-binary @{os.path.join(folder, n)} "
        f"http://127.0.0.1:8042/instances > /dev/null" for n in sorted(os.listdir(folder)))


def can_unshare():
    try:
        return subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"],
                              capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


@unittest.skipUnless(os.path.exists(ORTHANC) and os.path.exists(PLUGIN),
                     "Orthanc and orthanc-dicomweb are not installed")
@unittest.skipUnless(can_unshare(), "cannot make a network namespace with loopback (unshare -n, iproute2)")
class DicomWebStorage(MedpipeTestCase):
    def run_in_namespace(self, commands):
        config = {"Name": "medpipe-test", "StorageDirectory": self.path("orthanc", "storage"),
                  "IndexDirectory": self.path("orthanc", "index"), "HttpPort": 8042,
                  "DicomPort": 4242, "RemoteAccessAllowed": False,
                  "AuthenticationEnabled": False, "Plugins": [PLUGIN],
                  "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}}
        os.makedirs(self.path("orthanc"), exist_ok=True)
        with open(self.path("orthanc", "config.json"), "w") as f:
            json.dump(config, f)
        script = f"""set -e
ip link set lo up
{ORTHANC} {self.path("orthanc", "config.json")} > {self.path("orthanc", "log.txt")} 2>&1 &
ORTHANC_PID=$!
trap 'kill $ORTHANC_PID' EXIT
for i in $(seq 100); do curl -sf http://127.0.0.1:8042/system >/dev/null && break; sleep 0.1; done
{commands}
"""
        with open(self.path("ns.sh"), "w") as f:
            f.write(script)
        return subprocess.run(["unshare", "-n", "bash", self.path("ns.sh")], capture_output=True,
                              text=True, timeout=600, cwd=self.tmp)

    def test_train_and_predict_from_the_pacs_equal_the_local_run(self):
        import pydicom
        self.assertDone(self.medpipe("synth", "--task", "classify", "--out", "data", "--count",
                                     "24", "--size", "32", "--format", "dicom", "--seed", "4"))
        names = {}
        for name in sorted(os.listdir(self.path("data", "images"))):
            ds = pydicom.dcmread(self.path("data", "images", name), stop_before_pixels=True)
            names[os.path.splitext(name)[0]] = ds.SOPInstanceUID
        labels = {r["image"]: r["level"] for r in read_csv_rows(self.path("data", "labels.csv"))}
        with open(self.path("labels_sop.csv"), "w") as f:
            f.write("image,level\n" + "".join(f"{names[n]},{l}\n" for n, l in labels.items()))
        base = {"epochs": 2, "num_machines": 1, "threads": 1, "seed": 5, "val_fraction": 0}
        events = {
            "local.json": {**base, "images_bucket": "data", "model_bucket_name": "local"},
            "pacs.json": {**base, "images_bucket": "dicomweb://127.0.0.1:8042/dicom-web",
                          "labels": "labels_sop.csv", "model_bucket_name": "pacs",
                          "results_bucket": "results_pacs", "is_train": True},
            # the local model on the same images fetched from the PACS: the same predictions
            "pacs_predict.json": {**base, "images_bucket": "dicomweb://127.0.0.1:8042/dicom-web",
                                  "labels": "labels_sop.csv", "model_bucket_name": "local",
                                  "results_bucket": "results_pacs", "is_train": False},
            "local_predict.json": {**base, "images_bucket": "data", "model_bucket_name": "local",
                                   "results_bucket": "results_local", "is_train": False},
            # results into the PACS: one DICOM SR per image, stored by STOW-RS
            "pacs_store.json": {**base, "images_bucket": "dicomweb://127.0.0.1:8042/dicom-web",
                                "labels": "labels_sop.csv", "model_bucket_name": "local",
                                "results_bucket": "dicomweb://127.0.0.1:8042/dicom-web",
                                "is_train": False}}
        for name, event in events.items():
            with open(self.path(name), "w") as f:
                json.dump(event, f)
        upload = upload_commands(self.path("data", "images"))
        env = f"MEDPIPE_CACHE_DIR={self.path('cache')}"
        r = self.run_in_namespace(f"""{upload}
{MEDPIPE} run local.json 2> local.log
{MEDPIPE} run local_predict.json 2>> local.log
{env} {MEDPIPE} run pacs.json 2> pacs.log
{env} {MEDPIPE} run pacs_predict.json 2>> pacs.log
{env} {MEDPIPE} run pacs_store.json 2> store.log
/usr/bin/python3 - <<'PY'
import json, urllib.request
root = "http://127.0.0.1:8042/dicom-web"
found = json.load(urllib.request.urlopen(root + "/instances?Modality=SR"))
json.dump(found, open("sr_search.json", "w"))
uid = lambda item, tag: item[tag]["Value"][0]
item = found[0]
req = urllib.request.Request(
    f"{{root}}/studies/{{uid(item, '0020000D')}}/series/{{uid(item, '0020000E')}}/instances/{{uid(item, '00080018')}}",
    headers={{"Accept": 'multipart/related; type="application/dicom"'}})
answer = urllib.request.urlopen(req)
body, boundary = answer.read(), answer.headers.get_param("boundary").encode()
part = body.split(b"--" + boundary)[1].split(b"\\r\\n\\r\\n", 1)[1].rsplit(b"\\r\\n", 1)[0]
open("sr_one.dcm", "wb").write(part)
PY
""")
        pacs_log = read_text(self.path("pacs.log"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + pacs_log[-3000:])
        self.assertIn("24 instance(s), 24 fetched", pacs_log)
        self.assertIn("24 instance(s), 0 fetched", pacs_log)  # the second run: from the cache
        local = {r["image"]: r for r in read_csv_rows(self.path("results_local", "predictions.csv"))}
        pacs = {r["image"]: r for r in read_csv_rows(self.path("results_pacs", "predictions.csv"))}
        self.assertEqual(len(pacs), 24)
        self.assertTrue(os.path.exists(self.path("models", "pacs", "model.pt")))  # trained from it
        # the results are in the PACS: 24 SRs found by QIDO-RS, readable back, each referencing
        # its source image and giving the prediction medpipe wrote locally
        self.assertEqual(len(json.loads(read_text(self.path("sr_search.json")))), 24)
        sr = pydicom.dcmread(self.path("sr_one.dcm"))
        self.assertEqual(sr.Modality, "SR")
        source_uid = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0] \
            .ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        by_uid = {uid: name for name, uid in names.items()}
        self.assertIn(source_uid, by_uid)
        numbers = {item.ConceptNameCodeSequence[0].CodeMeaning:
                   float(item.MeasuredValueSequence[0].NumericValue)
                   for item in sr.ContentSequence if item.ValueType == "NUM"}
        self.assertEqual(int(numbers["Predicted class"]), int(local[by_uid[source_uid]]["prediction"]))
        self.assertAlmostEqual(numbers["Probability of class 1"],
                               float(local[by_uid[source_uid]]["prob_1"]), places=5)
        patient = str(sr.get("PatientName", ""))  # the SR carries it, the log must not
        if patient:
            self.assertNotIn(patient, read_text(self.path("store.log")))
        for name, uid in names.items():
            self.assertEqual(local[name]["prediction"], pacs[uid]["prediction"], name)
            self.assertAlmostEqual(float(local[name]["prob_1"]), float(pacs[uid]["prob_1"]),
                                   places=6)

    def test_segmentation_of_a_ct_series_is_stored_in_the_pacs_as_dicom_seg(self):
        import pydicom
        ibsi = os.path.join(SHARED_DATA, "ibsi", "ct_phantom")
        if not os.path.isdir(ibsi):
            self.skipTest(f"{ibsi} is absent (shared data not checked out)")
        series = os.path.join(ibsi, "dicom", "image")
        os.makedirs(self.path("ct", "masks"))
        shutil.copytree(series, self.path("ct", "images", "phantom"))
        shutil.copy(os.path.join(ibsi, "nifti", "mask", "mask.nii.gz"),
                    self.path("ct", "masks", "phantom.nii.gz"))
        pacs = "dicomweb://127.0.0.1:8042/dicom-web"
        common = {"images_bucket": "ct", "label_style": "array", "epochs": 1, "val_fraction": 0,
                  "model_bucket_name": "ct", "unet_width": 4, "unet_depth": 2,
                  "patches_per_image": 1, "normalize": "ct", "num_machines": 1, "threads": 1}
        for name, extra in (("train.json", {}),
                            ("predict.json", {"is_train": False, "results_bucket": pacs})):
            with open(self.path(name), "w") as f:
                json.dump({**common, **extra}, f)
        upload = upload_commands(series)
        r = self.run_in_namespace(f"""{upload}
export MEDPIPE_CACHE_DIR={self.path('cache')}
{MEDPIPE} run train.json 2> seg.log
{MEDPIPE} run predict.json 2>> seg.log
curl -s "http://127.0.0.1:8042/dicom-web/instances?Modality=SEG" > seg_search.json
""")
        self.assertEqual(r.returncode, 0, r.stderr + read_text(self.path("seg.log"))[-3000:])
        found = json.loads(read_text(self.path("seg_search.json")))
        self.assertEqual(len(found), 1)  # the SEG, in the CT's study, next to its 60 slices
        source = pydicom.dcmread(os.path.join(series, "DCM_IMG_00000.dcm"), stop_before_pixels=True)
        self.assertEqual(found[0]["0020000D"]["Value"][0], source.StudyInstanceUID)

    def test_a_ct_series_from_the_pacs_is_one_volume_segmented_and_stored_back(self):
        import numpy as np
        import pydicom
        ibsi = os.path.join(SHARED_DATA, "ibsi", "ct_phantom")
        if not os.path.isdir(ibsi):
            self.skipTest(f"{ibsi} is absent (shared data not checked out)")
        series = os.path.join(ibsi, "dicom", "image")
        source = pydicom.dcmread(os.path.join(series, "DCM_IMG_00000.dcm"), stop_before_pixels=True)
        uid = source.SeriesInstanceUID
        # the contract's naming: the series is the image <SeriesInstanceUID>, locally and remotely
        shutil.copytree(series, self.path("ct", "images", uid))
        os.makedirs(self.path("ct", "masks"))
        shutil.copy(os.path.join(ibsi, "nifti", "mask", "mask.nii.gz"),
                    self.path("ct", "masks", uid + ".nii.gz"))
        pacs = "dicomweb://127.0.0.1:8042/dicom-web"
        common = {"label_style": "array", "model_bucket_name": "ct", "num_machines": 1,
                  "threads": 1}
        events = {"train.json": {"images_bucket": "ct", "epochs": 1, "val_fraction": 0,
                                 "unet_width": 4, "unet_depth": 2, "patches_per_image": 1,
                                 "normalize": "ct"},
                  "local.json": {"images_bucket": "ct/images", "is_train": False,
                                 "has_labels": False, "results_bucket": "local"},
                  "remote.json": {"images_bucket": pacs, "is_train": False, "has_labels": False,
                                  "results_bucket": "remote"},
                  "store.json": {"images_bucket": pacs, "is_train": False, "has_labels": False,
                                 "results_bucket": pacs}}
        for name, event in events.items():
            with open(self.path(name), "w") as f:
                json.dump({**common, **event}, f)
        upload = upload_commands(series)
        r = self.run_in_namespace(f"""{upload}
export MEDPIPE_CACHE_DIR={self.path('cache')}
for e in train local remote store; do {MEDPIPE} run $e.json 2>> run.log; done
curl -s "http://127.0.0.1:8042/dicom-web/studies/{source.StudyInstanceUID}/instances?Modality=SEG" > seg.json
""")
        self.assertEqual(r.returncode, 0, r.stderr + read_text(self.path("run.log"))[-3000:])
        rows = read_csv_rows(self.path("remote", "predictions.csv"))
        self.assertEqual([row["image"] for row in rows], [uid])  # one volume, not 60 slices
        remote = np.load(self.path("remote", uid + ".npy"))
        self.assertEqual(remote.shape, (60, 201, 204))
        np.testing.assert_array_equal(remote, np.load(self.path("local", uid + ".npy")))
        found = json.loads(read_text(self.path("seg.json")))
        self.assertEqual(len(found), 1)  # the SEG of the series, in its study
        self.assertIn("series read as volumes", read_text(self.path("run.log")))
        # the volume read from the PACS is the local folder's, voxel for voxel and in geometry
        views = [os.path.join(d, uid) for d, subdirs, _ in os.walk(self.path("cache"))
                 if uid in subdirs]
        self.assertEqual(len(views), 1, views)
        for folder, out in ((views[0], "remote.npy"), (self.path("ct", "images", uid), "local.npy")):
            self.assertDone(self.medpipe("convert", folder, self.path(out)))
        np.testing.assert_array_equal(np.load(self.path("remote.npy")), np.load(self.path("local.npy")))
        infos = [json.loads(self.medpipe("convert", "--info", f).stdout)
                 for f in (views[0], self.path("ct", "images", uid))]
        for key in ("shape", "spacing_mm", "origin_mm", "direction"):
            self.assertEqual(infos[0][key], infos[1][key], key)

    def test_wrong_service_root_is_a_clear_error(self):
        with open(self.path("e.json"), "w") as f:
            json.dump({"images_bucket": "dicomweb://127.0.0.1:8042/not-dicom-web"}, f)
        r = self.run_in_namespace(f"set +e; {MEDPIPE} run e.json 2> err.log; echo rc=$?")
        self.assertIn("rc=2", r.stdout)
        err = read_text(self.path("err.log"))
        self.assertIn("was not found (HTTP 404)", err)
        self.assertIn("/dicom-web", err)


if __name__ == "__main__":
    unittest.main()
