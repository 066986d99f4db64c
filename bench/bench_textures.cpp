// GLCM, GLRLM and GLSZM of a 512 x 512 image and a 128^3 volume (32 grey levels), medpipe next to
// scikit-image / numpy / scipy: bench/textures_peer.py computes the same on the same .npy files
// (written by it first) and both print values to cross-check.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "features/features.h"
#include "io/image_io.h"

namespace {

medpipe::Image load(const std::string& stem) {
  const char* dir = std::getenv("MEDPIPE_BENCH_DIR");
  auto image = medpipe::read_image(std::string(dir ? dir : ".") + "/" + stem + ".npy");
  return image ? image.take() : medpipe::Image{};
}

double value_of(const medpipe::FeatureRow& row, const std::string& name) {
  for (const auto& f : row)
    if (f.name == name) return f.value;
  return -1;
}

// One family with one aggregation; the counter is a value the peer also prints.
void texture(benchmark::State& state, const std::string& stem, const std::string& family,
             const std::string& aggregation, const std::string& check) {
  medpipe::Image image = load(stem);
  if (image.pixels.empty()) {
    state.SkipWithError("images missing: run bench/textures_peer.py --write first");
    return;
  }
  medpipe::FeatureSettings s;
  s.families = family;
  s.aggregation = aggregation;
  s.discretisation = "fixed_bin_size";  // the stored levels 0..31 become 1..32
  s.bin_width = 1;
  medpipe::FeatureRow row;
  for (auto _ : state) {
    auto roi = medpipe::prepare_whole_image(image, s);
    row = medpipe::compute_features(roi.value(), s);
    benchmark::DoNotOptimize(row);
  }
  state.counters["check"] = value_of(row, check);
}

#define TEXTURE(name, stem, family, agg, check)                                          \
  BENCHMARK_CAPTURE(texture, name, std::string(stem), std::string(family), std::string(agg), \
                    std::string(check))                                                   \
      ->Unit(benchmark::kMillisecond)                                                     \
      ->MinTime(1.0)

// what the peer times: the three families in 2D (per slice for the volume), one call each
TEXTURE(image512_all3_2d, "image512", "cm,rlm,szm", "2D", "szm_z_perc_P30P_8QNN");
TEXTURE(volume128_all3_2d, "volume128", "cm,rlm,szm", "2D", "szm_z_perc_P30P_8QNN");
// the families one by one, and the region preparation (whole image, discretisation) alone
TEXTURE(image512_prepare, "image512", "none", "2D", "none");
TEXTURE(image512_glcm_2d, "image512", "cm", "2D", "cm_contrast_ACUI_BTW3");
TEXTURE(image512_glrlm_2d, "image512", "rlm", "2D", "rlm_sre_22OV_SUJT");
TEXTURE(image512_glszm_2d, "image512", "szm", "2D", "szm_z_perc_P30P_8QNN");
TEXTURE(volume128_prepare, "volume128", "none", "3D", "none");
TEXTURE(volume128_glcm_2d, "volume128", "cm", "2D", "cm_contrast_ACUI_BTW3");
TEXTURE(volume128_glrlm_2d, "volume128", "rlm", "2D", "rlm_sre_22OV_SUJT");
TEXTURE(volume128_glszm_2d, "volume128", "szm", "2D", "szm_z_perc_P30P_8QNN");
// 3D texture (13 directions, 26-connected zones), which the peer does not offer
TEXTURE(volume128_glcm_3d, "volume128", "cm", "3D", "cm_contrast_ACUI_ITBB");
TEXTURE(volume128_glrlm_3d, "volume128", "rlm", "3D", "rlm_sre_22OV_IAZD");
TEXTURE(volume128_glszm_3d, "volume128", "szm", "3D", "szm_z_perc_P30P_KOBO");

}  // namespace

#include "bench_main.h"
