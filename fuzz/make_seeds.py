#!/usr/bin/python3
"""Seed corpora for the fuzz harnesses (make fuzz): the DICOM and NIfTI files Debian's
python3-pydicom and python3-nibabel ship, and small files of every other format written here by
numpy, PIL, pydicom and nibabel. Usage: make_seeds.py OUT_DIR (one folder per harness)."""
import gzip
import io
import json
import pathlib
import shutil
import sys
import zlib

import nibabel
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MAX_SEED_BYTES = 70_000  # the file harnesses run with -max_len 65536; larger seeds are cut there


def shipped(package, pattern):
    root = pathlib.Path(package.__file__).parent
    return sorted(p for p in root.rglob(pattern) if p.stat().st_size <= MAX_SEED_BYTES)


def write(out, harness, name, data):
    folder = out / harness
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def rtstruct_seed():
    """An RT Structure Set whose square contours lie on the harness's grid (z = 0, 3, 6 mm)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTSTRUCT"
    roi = Dataset()
    roi.ROINumber = 1
    roi.ROIName = "GTV"
    ds.StructureSetROISequence = [roi]
    contours = []
    for z in (0.0, 3.0, 6.0):
        c = Dataset()
        c.ContourGeometricType = "CLOSED_PLANAR"
        pts = [-8, -8, z, 8, -8, z, 8, 8, z, -8, 8, z]
        c.NumberOfContourPoints = 4
        c.ContourData = [float(v) for v in pts]
        contours.append(c)
    rc = Dataset()
    rc.ReferencedROINumber = 1
    rc.ContourSequence = contours
    ds.ROIContourSequence = [rc]
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


def image_seeds(out):
    gray = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 3)
    for mode, arr in (("L", gray), ("RGB", np.dstack([gray] * 3)), ("RGBA", np.dstack([gray] * 4))):
        for fmt in ("PNG", "JPEG", "TIFF", "BMP"):
            if fmt in ("JPEG", "BMP") and mode == "RGBA":
                continue
            buf = io.BytesIO()
            Image.fromarray(arr, mode).save(buf, fmt)
            write(out, "raster", f"{mode}.{fmt.lower()}", buf.getvalue())
    buf = io.BytesIO()
    Image.fromarray(gray.astype(np.uint16) * 200).save(buf, "PNG")
    write(out, "raster", "gray16.png", buf.getvalue())


def npy_seeds(out):
    arrays = {
        "f4_2d": np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8),
        "u1_mask": (np.arange(64).reshape(8, 8) % 3).astype(np.uint8),
        "i2_3d": np.arange(2 * 4 * 4, dtype=np.int16).reshape(2, 4, 4),
        "f8_rgb": np.zeros((4, 4, 3)),
        "b1": np.eye(4, dtype=bool),
        "be_f4": np.arange(16, dtype=">f4").reshape(4, 4),
        "fortran": np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
    }
    for name, arr in arrays.items():
        buf = io.BytesIO()
        np.save(buf, arr)
        write(out, "npy", name + ".npy", buf.getvalue())
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arrays["f4_2d"], version=(2, 0))
    write(out, "npy", "v2.npy", buf.getvalue())


def nifti_seeds(out):
    for p in shipped(nibabel, "*.nii*"):
        write(out, "nifti", p.name, p.read_bytes())
    data = np.arange(4 * 4 * 3, dtype=np.int16).reshape(4, 4, 3)
    for cls, name in ((nibabel.Nifti1Image, "n1"), (nibabel.Nifti2Image, "n2")):
        img = cls(data, np.diag([0.8, 0.8, 2.5, 1.0]))
        write(out, "nifti", name + ".nii", img.to_bytes())


def volume_seeds(out):
    """NRRD and MetaImage headers with small volumes: raw and compressed, both byte orders."""
    data = np.arange(4 * 3 * 2, dtype="<i2")
    geometry = ("space: left-posterior-superior\nspace directions: (0.5,0,0) (0,0.5,0) (0,0,2)\n"
                "space origin: (1,2,3)\n")
    for encoding, body in (("raw", data.tobytes()), ("gzip", gzip.compress(data.tobytes()))):
        header = ("NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\n" + geometry +
                  f"endian: little\nencoding: {encoding}\n\n")
        write(out, "volume", f"{encoding}.nrrd", header.encode() + body)
    write(out, "volume", "rgb.nrrd", b"NRRD0004\ntype: uchar\ndimension: 3\nsizes: 3 2 2\n"
          b"kinds: RGB-color domain domain\nencoding: raw\n\n" + bytes(range(12)))
    common = ("ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementSpacing = 0.5 0.5 2\n"
              "Offset = 1 2 3\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nElementType = MET_SHORT\n")
    write(out, "volume", "local.mha", (common + "ElementDataFile = LOCAL\n").encode() + data.tobytes())
    packed = zlib.compress(data.astype(">i2").tobytes())
    write(out, "volume", "packed.mha", (common + "BinaryDataByteOrderMSB = True\n"
          f"CompressedData = True\nCompressedDataSize = {len(packed)}\n"
          "ElementDataFile = LOCAL\n").encode() + packed)


def text_seeds(out):
    write(out, "labels_csv", "plain.csv", "image,level\na,0\nb,1\nc,2\n")
    write(out, "labels_csv", "quoted.csv", '\ufeffimage,level,note\r\n"a,b",1,"x ""y"""\r\nc,0,\r\n')
    write(out, "event", "train.json", json.dumps({
        "images_labels_bucket": "images", "labels": "labels.csv", "results_bucket": "results",
        "models_bucket": "models", "is_train": True, "has_labels": True, "label_style": "csv",
        "pipeline": "deep", "epochs": 3, "lr": 0.01, "seed": 1}))
    write(out, "event", "segment.json", json.dumps({
        "images_labels_bucket": "s3://bucket/images", "results_bucket": "out",
        "label_style": "array", "patch_size": 64, "unet_depth": 3, "s3_endpoint": "http://u:p@h"}))
    write(out, "set", "epochs", b"\x00" + b"12")
    write(out, "set", "text", b"\x05" + b"s3://bucket/key")
    write(out, "multipart", "wado", "multipart/related; type=\"application/dicom\"; boundary=XyZ\n"
          "--XyZ\r\nContent-Type: application/dicom\r\n\r\nDICMdata\r\n--XyZ--\r\n")
    write(out, "multipart", "plain", "application/dicom\nDICMdata")
    write(out, "s3_listing", "page.xml", '<?xml version="1.0"?><ListBucketResult><Name>b</Name>'
          "<IsTruncated>true</IsTruncated><NextContinuationToken>t1</NextContinuationToken>"
          "<Contents><Key>images/a.png</Key><ETag>\"e\"</ETag><Size>12</Size></Contents>"
          "</ListBucketResult>")
    write(out, "s3_listing", "error.xml", "<Error><Code>NoSuchBucket</Code></Error>")
    write(out, "qido", "instances.json", json.dumps([{
        "0020000D": {"vr": "UI", "Value": ["1.2.3"]}, "0020000E": {"vr": "UI", "Value": ["1.2.3.4"]},
        "00080018": {"vr": "UI", "Value": ["1.2.3.4.5"]}}]))


def main():
    out = pathlib.Path(sys.argv[1])
    shutil.rmtree(out, ignore_errors=True)
    for p in shipped(pydicom, "*.dcm"):
        write(out, "dicom", p.name, p.read_bytes())
    write(out, "rtstruct", "square.dcm", rtstruct_seed())
    for p in shipped(pydicom, "rtstruct*.dcm"):
        write(out, "rtstruct", p.name, p.read_bytes())
    image_seeds(out)
    npy_seeds(out)
    nifti_seeds(out)
    volume_seeds(out)
    text_seeds(out)
    for folder in sorted(out.iterdir()):
        print(f"{folder.name}: {len(list(folder.iterdir()))} seeds")


if __name__ == "__main__":
    main()
