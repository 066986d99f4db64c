#include "data/synth.h"

#include <cmath>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <sstream>

#include "core/error.h"
#include "core/image.h"
#include "io/dicom_writer.h"
#include "io/image_io.h"
#include "io/npy.h"

namespace medpipe {

namespace {

// `mask`, when given, receives the nodule's pixels as 1 (CV_8U, size x size). `radius_fraction`
// in [0, 1] sets the nodule's size within its range (negative: drawn at random).
cv::Mat synth_slice(int size, bool nodule, std::mt19937& rng, cv::Mat* mask = nullptr,
                    double radius_fraction = -1) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double s = size;
  cv::Mat hu(size, size, CV_32F, cv::Scalar(-1000));
  cv::Point2d c(s / 2 + (u(rng) - 0.5) * s * 0.06, s / 2 + (u(rng) - 0.5) * s * 0.06);
  cv::Size body(static_cast<int>(s * (0.40 + 0.05 * u(rng))),
                static_cast<int>(s * (0.30 + 0.05 * u(rng))));
  cv::ellipse(hu, c, body, 0, 0, 360, cv::Scalar(40), cv::FILLED);
  cv::Size lung(static_cast<int>(body.width * 0.38), static_cast<int>(body.height * 0.72));
  cv::Point2d left(c.x - body.width * 0.48, c.y - body.height * 0.05);
  cv::Point2d right(c.x + body.width * 0.48, c.y - body.height * 0.05);
  cv::ellipse(hu, left, lung, 5 * (u(rng) - 0.5), 0, 360, cv::Scalar(-850), cv::FILLED);
  cv::ellipse(hu, right, lung, 5 * (u(rng) - 0.5), 0, 360, cv::Scalar(-850), cv::FILLED);
  cv::circle(hu, cv::Point2d(c.x, c.y + body.height * 0.7), static_cast<int>(s * 0.05),
             cv::Scalar(700), cv::FILLED);
  // Vessels: small bright dots in both classes, so a bright spot alone is no proof.
  int vessels = 2 + static_cast<int>(u(rng) * 4);
  for (int v = 0; v < vessels; ++v) {
    const cv::Point2d& lc = u(rng) < 0.5 ? left : right;
    cv::Point2d p(lc.x + (u(rng) - 0.5) * lung.width, lc.y + (u(rng) - 0.5) * lung.height * 1.2);
    cv::circle(hu, p, std::max(1, static_cast<int>(s * 0.012)), cv::Scalar(-100), cv::FILLED);
  }
  if (nodule) {
    const cv::Point2d& lc = u(rng) < 0.5 ? left : right;
    cv::Point2d p(lc.x + (u(rng) - 0.5) * lung.width * 0.8,
                  lc.y + (u(rng) - 0.5) * lung.height * 1.1);
    const double draw = u(rng);
    int radius =
        radius_fraction >= 0  // survival: 3% to 12% of the side, rounded
            ? std::max(2, static_cast<int>(std::lround(s * (0.03 + 0.09 * radius_fraction))))
            : std::max(2, static_cast<int>(s * (0.04 + 0.05 * draw)));
    cv::circle(hu, p, radius, cv::Scalar(20 + 40 * u(rng)), cv::FILLED);
    if (mask) {
      *mask = cv::Mat::zeros(size, size, CV_8U);
      cv::circle(*mask, p, radius, cv::Scalar(1), cv::FILLED);
    }
  } else if (mask) {
    *mask = cv::Mat::zeros(size, size, CV_8U);
  }
  cv::GaussianBlur(hu, hu, cv::Size(3, 3), 0.8);
  cv::Mat noise(size, size, CV_32F);
  cv::randn(noise, 0, 25);
  hu += noise;
  cv::max(hu, -1024.0, hu);
  cv::min(hu, 3071.0, hu);
  return hu;
}

// Writes one slice as <name>.png (HU + 1024, 16-bit) or <name>.dcm (HU via a rescale).
void write_slice(const fs::path& images_dir, const std::string& name, const cv::Mat& hu,
                 const SynthOptions& options, int instance_number) {
  Image image;
  image.height = image.width = options.size_px;
  image.spacing_mm = {0.7, 0.7, 1.0};
  image.spacing_known = true;
  image.pixels.resize(static_cast<std::size_t>(options.size_px) * options.size_px);
  for (int r = 0; r < options.size_px; ++r) {
    for (int col = 0; col < options.size_px; ++col) {
      float v = std::round(hu.at<float>(r, col));
      image.pixels[static_cast<std::size_t>(r) * options.size_px + col] =
          options.format == "png" ? v + 1024.0f : v;
    }
  }
  if (options.format == "png") {
    write_image(images_dir / (name + ".png"), image);
  } else {
    DicomWriteOptions dicom;
    dicom.rescale_intercept = -1024.0;
    dicom.instance_number = instance_number;
    write_dicom(images_dir / (name + ".dcm"), image, dicom);
  }
}

void check_options(const SynthOptions& options) {
  if (options.format != "png" && options.format != "dicom") {
    throw UsageError("synth --format " + options.format + ": use png or dicom");
  }
  if (options.count < 2 || options.size_px < 16 || options.size_px > 2048) {
    throw UsageError("synth: --count must be >= 2 and --size from 16 to 2048");
  }
}

std::string case_name(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "case_%05d", i);
  return name;
}

int write_classification(const SynthOptions& options) {
  fs::path images_dir = options.out_dir / "images";
  ensure_writable_dir(images_dir, "synth output folder");
  std::mt19937 rng(options.seed);
  cv::setRNGSeed(static_cast<int>(options.seed));
  std::ostringstream csv;
  csv << "image,level\n";
  for (int i = 0; i < options.count; ++i) {
    bool nodule = i % 2 == 1;
    cv::Mat hu = synth_slice(options.size_px, nodule, rng);
    write_slice(images_dir, case_name(i), hu, options, i + 1);
    csv << case_name(i) << "," << (nodule ? 1 : 0) << "\n";
  }
  atomic_write_text(options.out_dir / "labels.csv", csv.str());
  return options.count;
}

// Every fourth slice has no nodule (an empty mask), the others one, labelled 1.
int write_segmentation(const SynthOptions& options) {
  fs::path images_dir = options.out_dir / "images", masks_dir = options.out_dir / "masks";
  ensure_writable_dir(images_dir, "synth output folder");
  ensure_writable_dir(masks_dir, "synth output folder");
  std::mt19937 rng(options.seed);
  cv::setRNGSeed(static_cast<int>(options.seed));
  for (int i = 0; i < options.count; ++i) {
    cv::Mat mask;
    cv::Mat hu = synth_slice(options.size_px, i % 4 != 3, rng, &mask);
    write_slice(images_dir, case_name(i), hu, options, i + 1);
    write_npy_u8(masks_dir / (case_name(i) + ".npy"), {options.size_px, options.size_px},
                 mask.ptr<std::uint8_t>());
  }
  return options.count;
}

// Every slice has a nodule whose size sets the patient's hazard: log hazard ratio
// 2.5 x (f - 0.5) for its size fraction f, event times exponential with a baseline rate of one
// a year, censoring uniform over three years. labels.csv is image,time,event (days);
// truth/hazards.csv gives each image's true log hazard ratio, whose C is the best a model can do.
int write_survival(const SynthOptions& options) {
  fs::path images_dir = options.out_dir / "images";
  ensure_writable_dir(images_dir, "synth output folder");
  std::mt19937 rng(options.seed);
  cv::setRNGSeed(static_cast<int>(options.seed));
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::ostringstream labels, truth;
  labels << "image,time,event\n";
  truth << "image,true_log_hazard\n";
  char line[96];
  for (int i = 0; i < options.count; ++i) {
    const double fraction = u(rng), log_hazard = 2.5 * (fraction - 0.5);
    cv::Mat hu = synth_slice(options.size_px, true, rng, nullptr, fraction);
    write_slice(images_dir, case_name(i), hu, options, i + 1);
    const double event_days = -std::log(1.0 - u(rng)) * 365.0 / std::exp(log_hazard);
    const double censor_days = 3 * 365.0 * u(rng);
    const bool event = event_days <= censor_days;
    std::snprintf(line, sizeof line, "%s,%.1f,%d\n", case_name(i).c_str(),
                  std::max(0.1, std::round(std::min(event_days, censor_days) * 10) / 10),
                  event ? 1 : 0);
    labels << line;
    std::snprintf(line, sizeof line, "%s,%.6f\n", case_name(i).c_str(), log_hazard);
    truth << line;
  }
  atomic_write_text(options.out_dir / "labels.csv", labels.str());
  atomic_write_text(options.out_dir / "truth" / "hazards.csv", truth.str());
  return options.count;
}

}  // namespace

int write_synthetic(const SynthOptions& options) {
  check_options(options);
  if (options.task == "classify") return write_classification(options);
  if (options.task == "segment") return write_segmentation(options);
  if (options.task == "survival") return write_survival(options);
  throw UsageError("synth --task " + options.task + ": use classify, segment or survival");
}

}  // namespace medpipe
