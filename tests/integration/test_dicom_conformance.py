"""medpipe's DICOM decoding against pydicom on the DICOM files Debian's python3-pydicom ships.

Every file pydicom decodes must decode to the same values (after the Modality LUT; MONOCHROME1
inverted within the stored range, as medpipe does). Files pydicom cannot decode are compared
with an uncompressed twin or with GDCM's decode of the same file (MEDPIPE_DICOM_DECODER=gdcm),
and files nobody can decode must be refused with a clear message (exit 2), never a crash.
"""
import os
import unittest
import warnings

import numpy as np

from medpipe_testlib import MedpipeTestCase

try:
    import pydicom
    from pydicom.pixel_data_handlers.util import apply_modality_lut, convert_color_space
    TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
except ImportError:  # pragma: no cover
    pydicom = None
    TEST_FILES = None

# Files pydicom cannot decode, checked against an uncompressed twin.
TWINS = {"MR_small_jpeg_ls_lossless.dcm": "MR_small.dcm"}
# YBR -> RGB conversion: DCMTK and pydicom round differently by at most 1.
YBR_TOLERANCE = 1.0
# Known: DCMTK refuses this malformed file (a non-standard VR, then a premature end of stream)
# that pydicom tolerates; medpipe reports it as unreadable, which is the safe outcome.
DCMTK_REFUSES = {"SC_rgb_jpeg.dcm"}


def pydicom_reference(ds):
    arr = ds.pixel_array.astype(np.float64)
    if ds.get("SamplesPerPixel", 1) == 1:
        if ds.PhotometricInterpretation == "MONOCHROME1":
            arr = (-1 - arr) if ds.PixelRepresentation else (2 ** ds.BitsStored - 1 - arr)
        arr = apply_modality_lut(arr, ds)
    elif ds.PhotometricInterpretation.startswith("YBR"):
        # pydicom hands back YBR as stored; medpipe (DCMTK) converts to RGB
        arr = convert_color_space(ds.pixel_array, ds.PhotometricInterpretation, "RGB").astype(np.float64)
    return np.squeeze(arr).astype(np.float32)


@unittest.skipIf(pydicom is None, "python3-pydicom is not installed")
class DicomConformance(MedpipeTestCase):
    def convert(self, source, name, env=None):
        out = self.path(name + ".npy")
        result = self.medpipe("convert", source, out, env=env)
        self.assertNoCrash(result)
        return result, (np.squeeze(np.load(out)) if result.returncode == 0 else None)

    def test_every_pydicom_test_file(self):
        warnings.filterwarnings("ignore")
        checked = {"pydicom": 0, "twin": 0, "gdcm": 0, "refused": 0}
        for name in sorted(os.listdir(TEST_FILES)):
            source = os.path.join(TEST_FILES, name)
            if os.path.isdir(source):
                continue
            try:
                ds = pydicom.dcmread(source)
            except Exception:
                continue  # not DICOM (README, no-preamble files pydicom itself refuses)
            if "PixelData" not in ds:
                continue
            with self.subTest(file=name):
                try:
                    reference = pydicom_reference(ds)
                except Exception:
                    reference = None
                result, ours = self.convert(source, name)
                if name in DCMTK_REFUSES:
                    self.assertEqual(result.returncode, 2)
                    self.assertIn(name, result.stderr)
                    checked["refused"] += 1
                elif reference is not None:
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertEqual(ours.shape, reference.shape)
                    tolerance = YBR_TOLERANCE if ds.PhotometricInterpretation.startswith("YBR") else 0.0
                    np.testing.assert_allclose(ours, reference, rtol=0, atol=tolerance)
                    checked["pydicom"] += 1
                elif result.returncode != 0:
                    # nobody decodes it: a clear refusal naming the file
                    self.assertEqual(result.returncode, 2, result.stderr)
                    self.assertIn(name, result.stderr)
                    checked["refused"] += 1
                elif name in TWINS:
                    _, twin = self.convert(os.path.join(TEST_FILES, TWINS[name]), "twin_" + name)
                    np.testing.assert_array_equal(ours, twin)
                    checked["twin"] += 1
                else:
                    gdcm_result, gdcm = self.convert(source, "gdcm_" + name, env={"MEDPIPE_DICOM_DECODER": "gdcm"})
                    self.assertEqual(gdcm_result.returncode, 0, gdcm_result.stderr)
                    np.testing.assert_array_equal(ours, gdcm)
                    checked["gdcm"] += 1
        print("checked:", checked)
        self.assertGreaterEqual(checked["pydicom"], 40)

    def test_info_has_geometry_and_no_identifiers(self):
        source = os.path.join(TEST_FILES, "CT_small.dcm")
        result = self.medpipe("convert", "--info", source)
        self.assertDone(result)
        import json
        info = json.loads(result.stdout)
        ds = pydicom.dcmread(source)
        self.assertEqual(info["width"], ds.Columns)
        self.assertAlmostEqual(info["spacing_mm"][0], float(ds.PixelSpacing[1]))
        self.assertAlmostEqual(info["origin_mm"][2], float(ds.ImagePositionPatient[2]))
        self.assertAlmostEqual(info["min"], float(pydicom_reference(ds).min()))
        for identifier in (str(ds.PatientName), str(ds.PatientID)):
            if identifier:
                self.assertNotIn(identifier, result.stdout)


if __name__ == "__main__":
    unittest.main()
