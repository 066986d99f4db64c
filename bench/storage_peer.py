"""The peer of bench_storage: boto3 fetching every object of s3://BUCKET/PREFIX with N threads.
`--fill ENDPOINT BUCKET PREFIX COUNT` uploads COUNT copies of pydicom's CT_small.dcm first."""
import concurrent.futures
import json
import os
import sys
import tempfile
import time

import boto3


def client(endpoint):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def fill(endpoint, bucket, prefix, count):
    # Debian's python3-pydicom ships the CT test file; this Python may not import pydicom
    with open("/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm", "rb") as f:
        data = f.read()  # 39 KB
    s3 = client(endpoint)
    s3.create_bucket(Bucket=bucket)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"{prefix}/ct_{i:05d}.dcm",
                                              Body=data), range(count)))


def fetch(endpoint, bucket, prefix, threads, repeats):
    s3 = client(endpoint)
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            keys = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                keys += [o["Key"] for o in page.get("Contents", [])]
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda k: s3.download_file(bucket, k, os.path.join(out, os.path.basename(k))), keys))
            times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"objects": len(keys), "threads": threads, "median_s": median,
                      "objects_per_s": len(keys) / median}))


if __name__ == "__main__":
    if sys.argv[1] == "--fill":
        fill(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        fetch(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
