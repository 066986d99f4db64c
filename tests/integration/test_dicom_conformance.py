"""medpipe's DICOM decoding against pydicom on the DICOM files Debian's python3-pydicom ships.

Every file pydicom decodes must decode to the same values (after the Modality LUT; MONOCHROME1
inverted within the stored range, as medpipe does). Files pydicom cannot decode are compared
with an uncompressed twin or with GDCM's decode of the same file (MEDPIPE_DICOM_DECODER=gdcm),
and files nobody can decode must be refused with a clear message (exit 2), never a crash.
"""
import gzip
import io
import json
import os
import struct
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
# DICOM files other Debian packages ship for their own tests and examples (nibabel's Siemens and
# Philips MR, GDCM's example), each checked against pydicom too; .gz ones are unpacked first.
OTHER_LIBRARIES = [
    "/usr/lib/python3/dist-packages/nibabel/tests/data/0.dcm",
    "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data/csa_slice_norm.dcm",
    "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data/decimal_rescale.dcm",
    "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data/slicethickness_empty_string.dcm",
    "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data/philips_mprage.dcm.gz",
    "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data/siemens_dwi_0.dcm.gz",
    "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data/siemens_dwi_1000.dcm.gz",
    "/usr/share/doc/libgdcm3.0/examples/00191113.dcm",
]
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

    def info(self, source, env=None):
        result = self.medpipe("convert", "--info", source, env=env)
        self.assertDone(result)
        import json
        return json.loads(result.stdout)

    def test_direct_header_equals_dcmtks(self):
        """Uncompressed grayscale files have their header read from the structure walk, not by
        DCMTK: every pydicom test file's geometry and pixel format equal what DCMTK reads (the
        GDCM route, whose header is DCMTK's)."""
        compared = 0
        for name in sorted(os.listdir(TEST_FILES)):
            source = os.path.join(TEST_FILES, name)
            if os.path.isdir(source) or name in DCMTK_REFUSES:
                continue
            try:
                ds = pydicom.dcmread(source, stop_before_pixels=True)
                syntax = ds.file_meta.TransferSyntaxUID
            except Exception:
                continue
            if syntax not in (pydicom.uid.ImplicitVRLittleEndian, pydicom.uid.ExplicitVRLittleEndian) or ds.get("SamplesPerPixel", 1) != 1:
                continue  # not one the direct path reads
            first = self.medpipe("convert", "--info", source)
            dcmtk = self.medpipe("convert", "--info", source, env={"MEDPIPE_DICOM_DECODER": "gdcm"})
            if first.returncode != 0 or dcmtk.returncode != 0:
                continue
            with self.subTest(file=name):
                import json
                ours, theirs = json.loads(first.stdout), json.loads(dcmtk.stdout)
                for key in ("shape", "bits_stored", "spacing_mm", "spacing_known", "origin_mm", "direction"):
                    self.assertEqual(ours[key], theirs[key], key)
                compared += 1
        print("direct headers compared:", compared)
        self.assertGreaterEqual(compared, 5)

    def test_other_libraries_files(self):
        warnings.filterwarnings("ignore")
        present = [p for p in OTHER_LIBRARIES if os.path.exists(p)]
        if not present:
            self.skipTest("no other package's DICOM test files here")
        for source in present:
            name = os.path.basename(source)
            with self.subTest(file=name):
                if name.endswith(".gz"):
                    name = name[:-3]
                    with gzip.open(source) as packed, open(self.path(name), "wb") as out:
                        out.write(packed.read())
                    source = self.path(name)
                ds = pydicom.dcmread(source)
                if "PixelData" not in ds:
                    continue
                result, ours = self.convert(source, name)
                self.assertEqual(result.returncode, 0, result.stderr)
                try:
                    reference = pydicom_reference(ds)
                except RuntimeError:  # a codec pydicom lacks here: GDCM is the other decoder
                    _, reference = self.convert(source, "gdcm_" + name, env={"MEDPIPE_DICOM_DECODER": "gdcm"})
                np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-3)
                info = self.info(source)
                if "PixelSpacing" in ds:
                    self.assertAlmostEqual(info["spacing_mm"][0], float(ds.PixelSpacing[1]), places=5)
                if "ImagePositionPatient" in ds:
                    self.assertAlmostEqual(info["origin_mm"][2], float(ds.ImagePositionPatient[2]), places=4)

    def test_jpeg2000_mr_keeps_rescale_and_geometry(self):
        """A JPEG 2000 MR image (decoded by GDCM) keeps the file's rescale and geometry."""
        try:
            from PIL import Image as PILImage
            from pydicom.dataset import Dataset, FileMetaDataset
            from pydicom.encaps import encapsulate
            from pydicom.uid import JPEG2000Lossless, generate_uid
        except ImportError:
            self.skipTest("PIL or pydicom's encapsulation is missing")
        stored = (np.arange(48 * 64, dtype=np.uint16).reshape(48, 64) * 3 % 4000).astype(np.uint16)
        codestream = io.BytesIO()
        PILImage.fromarray(stored, mode="I;16").save(codestream, "JPEG2000", irreversible=False, no_jp2=True)
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
        ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.Rows, ds.Columns, ds.SamplesPerPixel = "MR", 48, 64, 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleSlope, ds.RescaleIntercept = "2.5", "-10"
        ds.PixelSpacing, ds.SliceThickness = ["0.7", "0.9"], "4"
        ds.ImagePositionPatient, ds.ImageOrientationPatient = ["-100", "-50.5", "33"], ["1", "0", "0", "0", "1", "0"]
        ds.PixelData = encapsulate([codestream.getvalue()])
        ds["PixelData"].VR = "OB"
        ds.is_little_endian, ds.is_implicit_VR = True, False
        source = self.path("mr_j2k.dcm")
        ds.save_as(source, write_like_original=False)
        result, ours = self.convert(source, "mr_j2k")
        self.assertEqual(result.returncode, 0, result.stderr)
        np.testing.assert_allclose(ours, stored * 2.5 - 10, rtol=0, atol=1e-3)
        info = self.info(source)
        self.assertEqual(info["spacing_mm"], [0.9, 0.7, 4.0])
        self.assertEqual(info["origin_mm"], [-100.0, -50.5, 33.0])

    def test_un_vr_geometry_is_read(self):
        """RT Dose with its spacing, position and frame offsets stored as VR UN (explicit VR)."""
        ds = pydicom.dcmread(os.path.join(TEST_FILES, "rtdose.dcm"))
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.is_implicit_VR, ds.is_little_endian = False, True
        plain = self.path("rtdose_explicit.dcm")
        ds.save_as(plain, write_like_original=False)
        raw = bytearray(open(plain, "rb").read())
        for group, element in ((0x0028, 0x0030), (0x0020, 0x0032), (0x3004, 0x000C)):
            tag = struct.pack("<HH", group, element)
            at = raw.find(tag + b"DS")
            self.assertGreater(at, 0)
            length = struct.unpack("<H", raw[at + 6:at + 8])[0]
            raw[at:at + 8] = tag + b"UN\x00\x00" + struct.pack("<I", length)
        source = self.path("rtdose_un.dcm")
        open(source, "wb").write(bytes(raw))
        info = self.info(source)
        offsets = [float(v) for v in ds.GridFrameOffsetVector]
        self.assertEqual(info["spacing_mm"], [float(ds.PixelSpacing[1]), float(ds.PixelSpacing[0]), offsets[1] - offsets[0]])
        self.assertEqual(info["origin_mm"], [float(v) for v in ds.ImagePositionPatient])

    def test_uncompressed_grayscale_variants(self):
        """The direct path for uncompressed grayscale: bits above Bits Stored ignored, signed
        values sign-extended from Bits Stored, MONOCHROME1 inverted, whole and fractional
        rescales, 8 and 16 bits, implicit and explicit VR; against numpy on the raw words."""
        from pydicom.dataset import Dataset, FileMetaDataset
        rng = np.random.default_rng(3)
        variants = [  # bits allocated, stored, signed, photometric, slope, intercept, implicit
            (16, 12, 1, "MONOCHROME2", 1.0, -1024.0, False),
            (16, 12, 0, "MONOCHROME1", 0.5, 3.25, True),
            (16, 16, 1, "MONOCHROME1", 1.0, 0.0, False),
            (16, 10, 0, "MONOCHROME2", 2.0, -7.0, False),
            (8, 8, 0, "MONOCHROME2", 1.0, 0.0, True),
            (8, 7, 1, "MONOCHROME1", 0.1, 1.0, False),
        ]
        for allocated, stored, signed, photometric, slope, intercept, implicit in variants:
            with self.subTest(bits=(allocated, stored, signed), photometric=photometric, slope=slope):
                raw = rng.integers(0, 2 ** allocated, (8, 5), dtype=np.uint16 if allocated == 16 else np.uint8)
                meta = FileMetaDataset()
                meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian if implicit else pydicom.uid.ExplicitVRLittleEndian
                meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
                meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
                ds = Dataset()
                ds.file_meta = meta
                ds.is_implicit_VR, ds.is_little_endian = implicit, True
                ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
                ds.Rows, ds.Columns, ds.SamplesPerPixel = 8, 5, 1
                ds.PhotometricInterpretation = photometric
                ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = allocated, stored, stored - 1, signed
                ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
                ds.PixelSpacing, ds.SliceThickness = [0.7, "+.35"], "2.5 "
                ds.ImagePositionPatient = ["-125.5", 3, "1e2"]
                ds.ImageOrientationPatient = [1, 0, 0, 0, 0.8, -0.6]
                ds.PixelData = raw.tobytes()
                source = self.path(f"variant_{allocated}_{stored}_{signed}_{photometric}.dcm")
                ds.save_as(source, write_like_original=False)
                values = raw.astype(np.int64) & (2 ** stored - 1)
                if signed:
                    values = np.where(values >= 2 ** (stored - 1), values - 2 ** stored, values)
                if photometric == "MONOCHROME1":
                    values = (-1 - values) if signed else (2 ** stored - 1 - values)
                reference = (values.astype(np.float64) * slope + intercept).astype(np.float32)
                _, ours = self.convert(source, os.path.basename(source))
                np.testing.assert_array_equal(ours, reference)
                info = self.info(source)
                self.assertEqual(info["spacing_mm"], [0.35, 0.7, 2.5])
                self.assertEqual(info["origin_mm"], [-125.5, 3.0, 100.0])
                self.assertEqual(info["direction"][:6], [1, 0, 0, 0, 0.8, -0.6])
                dcmtk = self.medpipe("convert", "--info", source, env={"MEDPIPE_DICOM_DECODER": "gdcm"})
                if dcmtk.returncode == 0:  # DCMTK's header, where GDCM decodes the pixels
                    for key in ("spacing_mm", "origin_mm", "direction", "bits_stored"):
                        self.assertEqual(info[key], json.loads(dcmtk.stdout)[key], key)

    def test_32bit_rgb_stored_as_ob(self):
        ds = pydicom.dcmread(os.path.join(TEST_FILES, "SC_rgb_rle_32bit.dcm"))
        reference = ds.pixel_array.astype(np.float32)
        ds.decompress()
        ds["PixelData"].VR = "OB"
        source = self.path("rgb32_ob.dcm")
        ds.save_as(source, write_like_original=False)
        result, ours = self.convert(source, "rgb32_ob")
        self.assertEqual(result.returncode, 0, result.stderr)
        np.testing.assert_array_equal(ours, reference)

    def test_damaged_codestream_costs_one_image(self):
        """A JPEG codestream GDCM asserts on (it aborts) is refused; medpipe itself goes on."""
        source = os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "crashes", "dicom")
        for name in sorted(os.listdir(source)) if os.path.isdir(source) else []:
            with self.subTest(file=name):
                result, _ = self.convert(os.path.join(source, name), name)
                self.assertNoCrash(result)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertEqual(result.stderr.count("\n"), 1, result.stderr)  # our one line, no library's

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
