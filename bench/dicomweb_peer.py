"""The peer of bench_storage for a PACS: Python's urllib with N threads doing what medpipe's
mirror does: QIDO-RS search of every instance, then WADO-RS retrieval of each (multipart/related),
written to files. `--fill URL COUNT` stores COUNT instances (new UIDs each) through Orthanc's REST."""
import concurrent.futures
import json
import os
import sys
import tempfile
import time
import urllib.request


def fill(url, count):
    import pydicom
    from pydicom.uid import generate_uid
    ds = pydicom.dcmread("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm")
    study, series = generate_uid(), generate_uid()

    def store(i):
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = i
        with tempfile.NamedTemporaryFile(suffix=".dcm") as f:
            ds.save_as(f.name)
            data = open(f.name, "rb").read()
        urllib.request.urlopen(urllib.request.Request(url + "/instances", data=data, method="POST")).read()

    for i in range(count):  # pydicom's dataset is not shared across threads
        store(i)


def fetch(root, threads, repeats):
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            items, offset = [], 0
            while True:
                page = json.load(urllib.request.urlopen(f"{root}/instances?limit=1000&offset={offset}"))
                items += page
                offset += 1000
                if len(page) < 1000:
                    break

            def get(item):
                uid = lambda tag: item[tag]["Value"][0]
                req = urllib.request.Request(
                    f"{root}/studies/{uid('0020000D')}/series/{uid('0020000E')}/instances/{uid('00080018')}",
                    headers={"Accept": 'multipart/related; type="application/dicom"'})
                answer = urllib.request.urlopen(req)
                body = answer.read()
                boundary = answer.headers.get_param("boundary").encode()
                part = body.split(b"--" + boundary)[1]
                data = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
                with open(os.path.join(out, uid("00080018") + ".dcm"), "wb") as f:
                    f.write(data)

            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                list(pool.map(get, items))
            times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"objects": len(items), "threads": threads, "median_s": median,
                      "objects_per_s": len(items) / median}))


if __name__ == "__main__":
    if sys.argv[1] == "--fill":
        fill(sys.argv[2], int(sys.argv[3]))
    else:
        fetch(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
