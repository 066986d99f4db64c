"""NRRD and MetaImage: volumes written by teem's `unu` (Debian's teem-apps) and by hand-written
headers (raw and compressed, both byte orders, detached data files) read to the voxels and
geometry of their NIfTI twins (written by nibabel); medpipe's own NRRD read back by `unu`;
radiomics features of the IBSI CT phantom as NRRD equal those of its NIfTI files."""
import json
import os
import shutil
import subprocess
import unittest
import zlib

import nibabel as nib
import numpy as np

from medpipe_testlib import MedpipeTestCase, SHARED_DATA, read_csv_rows

UNU = shutil.which("teem-unu") or shutil.which("unu")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IBSI_CT = os.path.join(SHARED_DATA, "ibsi", "ct_phantom", "nifti")

# an oblique volume in NIfTI's RAS: rotated about z, anisotropic voxels
ANGLE = 0.35
RAS_AFFINE = np.array([
    [0.8 * np.cos(ANGLE), -0.9 * np.sin(ANGLE), 0.0, -41.5],
    [0.8 * np.sin(ANGLE), 0.9 * np.cos(ANGLE), 0.0, 17.25],
    [0.0, 0.0, 2.5, 60.0],
    [0, 0, 0, 1]])


def need_unu(test):
    return unittest.skipUnless(UNU, "teem-unu (Debian's teem-apps) not installed")(test)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def nrrd_vector(v):
    return "(" + ",".join(repr(float(x)) for x in v) + ")"


class Twins(MedpipeTestCase):
    def setUp(self):
        super().setUp()
        rng = np.random.default_rng(3)
        self.xyz = rng.integers(-1000, 2000, size=(12, 10, 7)).astype(np.int16)  # x, y, z
        nib.save(nib.Nifti1Image(self.xyz, RAS_AFFINE), self.path("twin.nii.gz"))
        self.twin = self.info("twin.nii.gz")
        self.zyx = np.ascontiguousarray(self.xyz.transpose(2, 1, 0))  # medpipe's .npy order

    def info(self, name):
        r = self.medpipe("convert", "--info", self.path(name))
        self.assertDone(r)
        return json.loads(r.stdout)

    def assertTwin(self, name):
        info = self.info(name)
        for key in ("width", "height", "depth", "channels"):
            self.assertEqual(info[key], self.twin[key], f"{name}: {key}")
        for key in ("spacing_mm", "origin_mm", "direction"):
            np.testing.assert_allclose(info[key], self.twin[key], atol=1e-5, err_msg=f"{name}: {key}")
        self.assertDone(self.medpipe("convert", self.path(name), self.path(name + ".npy")))
        np.testing.assert_array_equal(np.load(self.path(name + ".npy")), self.zyx.astype(np.float32))

    def raw(self, name, big_endian=False, packed=None):
        data = self.zyx.astype(">i2" if big_endian else "<i2").tobytes()
        if packed:
            data = packed(data)
        with open(self.path(name), "wb") as f:
            f.write(data)
        return data

    def unu_make(self, output, data, *extra, space="RAS"):
        sign = np.array([1, 1, 1]) if space == "RAS" else np.array([-1, -1, 1])
        dirs = " ".join(nrrd_vector(sign * RAS_AFFINE[:3, a]) for a in range(3))
        # data named relative to the header (run in the folder): a detached header's data file
        # must lie beside it
        args = [UNU, "make", "-i", data, "-t", "short", "-s", "12", "10", "7",
                "-spc", space, "-orig", nrrd_vector(sign * RAS_AFFINE[:3, 3]), "-dirs", dirs,
                "-o", self.path(output)] + list(extra)
        subprocess.run(args, check=True, capture_output=True, cwd=self.tmp)

    @need_unu
    def test_nrrd_written_by_unu_matches_its_nifti_twin(self):
        self.raw("little.raw")
        self.raw("big.raw", big_endian=True)
        self.unu_make("raw.nrrd", "little.raw", "-e", "raw", "-en", "little")
        self.unu_make("gzip.nrrd", "little.raw", "-e", "gzip", "-en", "little")
        self.unu_make("big.nrrd", "big.raw", "-e", "raw", "-en", "big", space="LPS")
        self.unu_make("gzip_big.nrrd", "big.raw", "-e", "gzip", "-en", "big")
        # a detached header (-h) naming the data file beside it
        self.unu_make("detached.nhdr", "little.raw", "-h", "-e", "raw", "-en", "little")
        for name in ("raw.nrrd", "gzip.nrrd", "big.nrrd", "gzip_big.nrrd", "detached.nhdr"):
            self.assertTwin(name)

    def mha_header(self, big_endian, data_file, compressed_size=None):
        lps = np.diag([-1, -1, 1]) @ RAS_AFFINE[:3, :3]
        spacing = np.linalg.norm(lps, axis=0)
        matrix = " ".join(repr(float(v)) for a in range(3) for v in lps[:, a] / spacing[a])
        origin = np.diag([-1, -1, 1]) @ RAS_AFFINE[:3, 3]
        lines = ["ObjectType = Image", "NDims = 3", "BinaryData = True",
                 f"BinaryDataByteOrderMSB = {'True' if big_endian else 'False'}",
                 f"CompressedData = {'True' if compressed_size else 'False'}"]
        if compressed_size:
            lines.append(f"CompressedDataSize = {compressed_size}")
        lines += [f"TransformMatrix = {matrix}", "Offset = " + " ".join(map(repr, origin.tolist())),
                  "CenterOfRotation = 0 0 0", "AnatomicalOrientation = RAI",
                  "ElementSpacing = " + " ".join(map(repr, spacing.tolist())), "DimSize = 12 10 7",
                  "ElementType = MET_SHORT", f"ElementDataFile = {data_file}"]
        return ("\n".join(lines) + "\n").encode()

    def test_metaimage_headers_match_their_nifti_twin(self):
        for big in (False, True):
            tag = "big" if big else "little"
            data = self.raw(f"{tag}.raw", big_endian=big)
            packed = self.raw(f"{tag}.zraw", big_endian=big, packed=zlib.compress)
            with open(self.path(f"local_{tag}.mha"), "wb") as f:
                f.write(self.mha_header(big, "LOCAL") + data)
            with open(self.path(f"packed_{tag}.mha"), "wb") as f:
                f.write(self.mha_header(big, "LOCAL", len(packed)) + packed)
            with open(self.path(f"detached_{tag}.mhd"), "wb") as f:
                f.write(self.mha_header(big, f"{tag}.raw"))
            with open(self.path(f"detached_packed_{tag}.mhd"), "wb") as f:
                f.write(self.mha_header(big, f"{tag}.zraw", len(packed)))
            for name in (f"local_{tag}.mha", f"packed_{tag}.mha", f"detached_{tag}.mhd",
                         f"detached_packed_{tag}.mhd"):
                self.assertTwin(name)

    @need_unu
    def test_medpipes_nrrd_is_read_back_by_unu_with_its_geometry(self):
        for name in ("out.nrrd", "out.nhdr"):
            self.assertDone(self.medpipe("convert", self.path("twin.nii.gz"), self.path(name)))
            head = subprocess.run([UNU, "head", self.path(name)], capture_output=True, text=True,
                                  check=True).stdout
            self.assertIn("space: left-posterior-superior", head)
            plain = subprocess.run([UNU, "save", "-f", "nrrd", "-e", "raw", "-en", "little", "-i",
                                    self.path(name), "-o", "-"], capture_output=True,
                                   check=True).stdout
            values = np.frombuffer(plain[plain.index(b"\n\n") + 2:], dtype="<f4")
            np.testing.assert_array_equal(values, self.zyx.ravel().astype(np.float32))
            self.assertTwin(name)
        self.assertTrue(os.path.exists(self.path("out.raw.gz")))  # the .nhdr's data file

    def test_medpipes_metaimage_is_read_back_by_a_plain_parser(self):
        for name, data_name in (("out.mha", None), ("out.mhd", "out.raw")):
            self.assertDone(self.medpipe("convert", self.path("twin.nii.gz"), self.path(name)))
            blob = read_bytes(self.path(name))
            end = blob.index(b"ElementDataFile")
            end = blob.index(b"\n", end) + 1
            fields = dict(line.split(" = ", 1) for line in blob[:end].decode().splitlines())
            data = blob[end:] if data_name is None else read_bytes(self.path(data_name))
            if fields["CompressedData"] == "True":
                data = zlib.decompress(data)
            values = np.frombuffer(data, dtype="<f4")
            np.testing.assert_array_equal(values, self.zyx.ravel().astype(np.float32))
            np.testing.assert_allclose([float(v) for v in fields["Offset"].split()],
                                       self.twin["origin_mm"], atol=1e-9)
            np.testing.assert_allclose([float(v) for v in fields["TransformMatrix"].split()],
                                       self.twin["direction"], atol=1e-9)
            self.assertTwin(name)

    def test_a_data_file_outside_the_header_folder_is_refused(self):
        os.makedirs(self.path("in"))
        self.raw("secret.raw")
        with open(self.path("in", "escape.mhd"), "wb") as f:
            f.write(self.mha_header(False, "../secret.raw"))
        r = self.medpipe("convert", "--info", self.path("in", "escape.mhd"))
        self.assertUsageError(r, "ElementDataFile")
        with open(self.path("in", "escape.nhdr"), "w") as f:
            f.write("NRRD0004\ntype: short\ndimension: 3\nsizes: 12 10 7\nendian: little\n"
                    "encoding: raw\ndata file: /etc/passwd\n")
        self.assertUsageError(self.medpipe("convert", "--info", self.path("in", "escape.nhdr")),
                              "data file")


@unittest.skipUnless(os.path.isdir(IBSI_CT), f"IBSI CT phantom not found at {IBSI_CT}")
@need_unu
class RadiomicsOnNrrd(MedpipeTestCase):
    def to_nrrd(self, nifti, output, unu_type, dtype):
        image = nib.load(nifti)
        data = np.asanyarray(image.dataobj).astype(dtype)
        raw = self.path(output + ".raw")
        np.ascontiguousarray(data.transpose(2, 1, 0)).astype("<" + np.dtype(dtype).str[1:]).tofile(raw)
        dirs = " ".join(nrrd_vector(image.affine[:3, a]) for a in range(3))
        subprocess.run([UNU, "make", "-i", raw, "-t", unu_type, "-s", *map(str, data.shape),
                        "-spc", "RAS", "-orig", nrrd_vector(image.affine[:3, 3]), "-dirs", dirs,
                        "-e", "gzip", "-en", "little", "-o", self.path(output)],
                       check=True, capture_output=True)
        return self.path(output)

    def features(self, image, mask, out):
        r = self.medpipe("features", "--image", image, "--mask", mask, "--out", self.path(out),
                         "--config", os.path.join(REPO, "configs", "ibsi", "config_B.json"))
        self.assertDone(r)
        rows = read_csv_rows(self.path(out))
        return {k: v for k, v in rows[0].items() if k != "image"}

    def test_features_of_the_nrrd_twins_equal_the_nifti_ones(self):
        image = os.path.join(IBSI_CT, "image", "phantom.nii.gz")
        mask = os.path.join(IBSI_CT, "mask", "mask.nii.gz")
        expected = self.features(image, mask, "nifti.csv")
        got = self.features(self.to_nrrd(image, "phantom.nrrd", "float", np.float32),
                            self.to_nrrd(mask, "mask.nrrd", "uchar", np.uint8), "nrrd.csv")
        self.assertEqual(sorted(got), sorted(expected))
        self.assertGreater(len(got), 100)
        differ = [k for k in expected
                  if not np.isclose(float(got[k]), float(expected[k]), rtol=1e-9, atol=1e-12,
                                    equal_nan=True)]
        self.assertEqual(differ, [])


if __name__ == "__main__":
    unittest.main()
