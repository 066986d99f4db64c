"""The same images as 16-bit DICOM with a rescale and as PNG give identical predictions; and a
DICOM's patient identifiers appear in no log line, result, model file or report."""
import json
import os
import subprocess
import unittest

import numpy as np

from medpipe_testlib import MedpipeTestCase, make_separable_set, read_csv_rows, write_event, write_labels

try:
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid
except ImportError:  # pragma: no cover
    pydicom = None
from PIL import Image

MARKER = "ZZMARKER4711"


def write_dicom(path, values, slope, intercept, name="ANON", patient_id="ANON"):
    stored = np.round((values - intercept) / slope).astype(np.int16)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.AccessionNumber = MARKER + "ACC"
    ds.Modality = "OT"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = str(slope)
    ds.RescaleIntercept = str(intercept)
    ds.PixelData = stored.tobytes()
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.save_as(path, write_like_original=False)


@unittest.skipIf(pydicom is None, "python3-pydicom is not installed")
class DicomAndPng(MedpipeTestCase):
    def setUp(self):
        super().setUp()
        rows = make_separable_set(self.path("png"), 24, size=20, seed=5)
        os.makedirs(self.path("dcm", "images"))
        for name, _ in rows:
            values = np.asarray(Image.open(self.path("png", "images", name + ".png")), dtype=np.float64)
            # slope 0.5, intercept -100: stored = 2 * (v + 100), rescaled back exactly
            write_dicom(self.path("dcm", "images", name + ".dcm"), values, 0.5, -100.0,
                        name=f"{MARKER}^PATIENT", patient_id=MARKER)
        write_labels(self.path("dcm", "labels.csv"), rows)

    def test_identical_predictions_and_no_identifiers(self):
        write_event(self.path("train.json"), {"images_bucket": "dcm", "epochs": 2, "batch_size": 8,
                                             "cnn_width": 4, "cnn_blocks": 1})
        outputs = [self.medpipe("run", "train.json")]
        self.assertDone(outputs[-1])
        for source in ("png", "dcm"):
            write_event(self.path(f"{source}.json"), {"images_bucket": source, "is_train": False,
                                                     "results_bucket": f"results_{source}"})
            outputs.append(self.medpipe("run", f"{source}.json"))
            self.assertDone(outputs[-1])
        png = read_csv_rows(self.path("results_png", "predictions.csv"))
        dcm = read_csv_rows(self.path("results_dcm", "predictions.csv"))
        self.assertEqual(png, dcm)  # byte-identical probabilities

        outputs.append(self.medpipe("convert", "--info", self.path("dcm", "images", "img_0000.dcm")))
        outputs.append(self.medpipe("status", "models/model"))
        text = "".join(r.stdout + r.stderr for r in outputs)
        self.assertNotIn(MARKER, text)
        self.assertNotIn("19700101", text)
        for folder in ("models", "results_png", "results_dcm"):
            grep = subprocess.run(["grep", "-rl", "-a", MARKER, self.path(folder)], capture_output=True, text=True)
            self.assertEqual(grep.stdout, "", f"marker found in {grep.stdout}")
        # the report and event logs were among the files searched; every log line is one JSON object
        self.assertTrue(os.path.exists(self.path("results_dcm", "report.html")))
        for folder in ("models/model", "results_png", "results_dcm"):
            with open(self.path(folder, "events.jsonl")) as f:
                lines = f.readlines()
            self.assertGreater(len(lines), 3)
            for line in lines:
                self.assertIsInstance(json.loads(line), dict)


if __name__ == "__main__":
    unittest.main()
