"""Table of bench/textures.sh: medians, ratios and the values both sides computed."""
import json
import sys


def main():
    cpp = json.load(open(sys.argv[1]))
    py = {c["case"]: c for c in json.load(open(sys.argv[2]))}
    median = {}
    for b in cpp["benchmarks"]:
        if b.get("aggregate_name") == "median":
            name = b["run_name"].split("/")[1]
            median[name] = (b["real_time"], b.get("check"))
    print("| case | medpipe ms (median) | peer ms (median) | speed-up | check (medpipe / peer) |")
    print("|---|---|---|---|---|")
    pairs = [("image512_all3_2d", "image_512x512", lambda v: v["glszm"][0]),
             ("volume128_all3_2d", "volume_128x128x128", lambda v: v["glszm_zone_percentage"])]
    for ours, theirs, check in pairs:
        ms, value = median[ours]
        peer = py[theirs]
        print(f"| {theirs}: GLCM + GLRLM + GLSZM, 2D | {ms:.1f} | {peer['median_ms']:.1f} | "
              f"{peer['median_ms'] / ms:.1f}x | zone % {value:.6f} / {check(peer['values']):.6f} |")
    print()
    print("| medpipe part | ms (median) | check value |")
    print("|---|---|---|")
    for name, (ms, value) in median.items():
        if "all3" not in name:
            print(f"| {name} | {ms:.1f} | {value:.6g} |")
    image = py["image_512x512"]["values"]
    print(f"\npeer values (512 x 512): GLCM contrast {image['glcm']['contrast']:.6g}, "
          f"GLRLM SRE {image['glrlm_sre']:.6g}, GLSZM zone % {image['glszm'][0]:.6g}")
    volume = py["volume_128x128x128"]["values"]
    print(f"peer values (128^3): GLCM contrast {volume['glcm_contrast']:.6g}, "
          f"GLRLM SRE {volume['glrlm_sre']:.6g}, GLSZM zone % {volume['glszm_zone_percentage']:.6g}")


if __name__ == "__main__":
    main()
