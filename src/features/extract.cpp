#include "features/extract.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "core/parallel.h"
#include "features/features.h"
#include "io/csv.h"
#include "io/image_io.h"
#include "io/rtstruct.h"

namespace medpipe {

namespace {

struct JobResult {
  bool ok = false;
  std::string error;
  FeatureRow values;
  std::vector<std::string> warnings;
};

JobResult run_job(const FeatureJob& job, const FeatureSettings& settings) {
  JobResult out;
  Result<Image> image = read_image(job.image);
  if (!image) {
    out.error = "cannot read the image " + job.image.string() + ": " + image.error();
    return out;
  }
  std::optional<Image> mask;
  if (job.mask) {
    Result<Image> read = is_rtstruct(*job.mask)
                             ? rasterise_rtstruct(*job.mask, image.value(), settings.roi_name)
                             : read_image(*job.mask);
    if (!read) {
      out.error = "cannot read the mask " + job.mask->string() + ": " + read.error();
      return out;
    }
    mask = read.take();
  }
  Result<RegionFeatures> features =
      region_features(image.value(), mask ? &*mask : nullptr, settings);
  if (!features) {
    out.error = job.image.filename().string() +
                (job.mask ? " with mask " + job.mask->filename().string() : "") + ": " +
                features.error();
    return out;
  }
  out.ok = true;
  out.values = std::move(features.value().values);
  out.warnings = std::move(features.value().warnings);
  return out;
}

// A folder is one DICOM series when every file in it is DICOM-named (or has no extension).
bool is_series_folder(const fs::path& dir) {
  bool any = false;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory()) return false;
    if (!looks_like_image_file(entry.path())) continue;
    if (guess_image_format(entry.path()) != ImageFormat::kDicom) return false;
    any = true;
  }
  return any;
}

// Image files in a folder; for features, .npy arrays count as images (and masks) too.
bool usable_file(const fs::path& path) {
  std::string name = path.filename().string();
  return looks_like_image_file(path) ||
         (guess_image_format(path) == ImageFormat::kNpy && !name.empty() && name[0] != '.');
}

std::vector<fs::path> expand(const std::string& argument, const char* what) {
  fs::path path(argument);
  if (!fs::exists(path)) {
    throw UsageError(std::string(what) + " '" + argument + "' does not exist; check the path");
  }
  if (!fs::is_directory(path) || is_series_folder(path)) return {path};
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(path)) {
    if (entry.is_regular_file() && usable_file(entry.path())) out.push_back(entry.path());
    if (entry.is_directory() && is_series_folder(entry.path())) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) {
    throw UsageError(std::string(what) + " folder '" + argument + "' holds no readable image");
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", v);
  return text;
}

}  // namespace

std::vector<FeatureJob> feature_jobs(const std::vector<std::string>& images,
                                     const std::vector<std::string>& masks) {
  std::vector<fs::path> image_paths, mask_paths;
  for (const auto& a : images) {
    auto more = expand(a, "image");
    image_paths.insert(image_paths.end(), more.begin(), more.end());
  }
  for (const auto& a : masks) {
    auto more = expand(a, "mask");
    mask_paths.insert(mask_paths.end(), more.begin(), more.end());
  }
  bool masks_are_files = !masks.empty() && masks.size() == images.size() &&
                         mask_paths.size() == image_paths.size() &&
                         std::none_of(masks.begin(), masks.end(),
                                      [](const std::string& m) { return fs::is_directory(m); });
  std::map<std::string, fs::path> mask_by_name;
  for (const auto& m : mask_paths) mask_by_name[image_name(m)] = m;
  std::vector<FeatureJob> jobs;
  for (std::size_t k = 0; k < image_paths.size(); ++k) {
    FeatureJob job{image_name(image_paths[k]), image_paths[k], std::nullopt};
    if (masks_are_files || (image_paths.size() == 1 && mask_paths.size() == 1)) {
      job.mask = mask_paths[k];  // one --mask per --image, in order
    } else if (!mask_paths.empty()) {
      auto found = mask_by_name.find(job.name);
      if (found == mask_by_name.end()) {
        throw UsageError("no mask named like image '" + job.name +
                         "' (masks in a folder are matched by file name without extension); "
                         "add one, or pass one --mask per --image");
      }
      job.mask = found->second;
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

FeatureTable extract_features(const std::vector<FeatureJob>& jobs, const FeatureSettings& settings,
                              int workers) {
  std::vector<JobResult> results(jobs.size());
  parallel_for(jobs.size(), workers, "features", "images",
               [&](std::size_t k) { results[k] = run_job(jobs[k], settings); });

  FeatureTable table;
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    JobResult& r = results[k];
    if (!r.ok) {
      table.skipped.emplace_back(jobs[k].name, r.error);
      continue;
    }
    if (table.columns.empty()) {
      for (const auto& f : r.values) table.columns.push_back(f.name);
    }
    bool same = r.values.size() == table.columns.size();
    for (std::size_t c = 0; same && c < r.values.size(); ++c)
      same = r.values[c].name == table.columns[c];
    if (!same) {
      table.skipped.emplace_back(jobs[k].name,
                                 "its features differ from the first image's (a 2D image among 3D "
                                 "ones, or the reverse); compute 2D and 3D images separately");
      continue;
    }
    for (const auto& w : r.warnings) table.warnings.emplace_back(jobs[k].name, w);
    table.images.push_back(jobs[k].name);
    std::vector<double> row;
    for (const auto& f : r.values) row.push_back(f.value);
    table.rows.push_back(std::move(row));
  }
  return table;
}

void write_feature_table(const fs::path& path, const FeatureTable& table) {
  std::ostringstream out;
  out << "image";
  for (const auto& c : table.columns) out << "," << c;
  out << "\n";
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    out << csv_quote(table.images[r]);
    for (double v : table.rows[r]) out << "," << format_value(v);
    out << "\n";
  }
  atomic_write_text(path, out.str());
}

FeatureTable read_feature_table(const fs::path& path) {
  std::vector<CsvRow> rows = read_csv_file(path);
  if (rows.empty() || rows[0].fields.empty() || rows[0].fields[0] != "image") {
    throw UsageError(path.string() + ": not a features table (the first column must be 'image')");
  }
  FeatureTable table;
  table.columns.assign(rows[0].fields.begin() + 1, rows[0].fields.end());
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& fields = rows[r].fields;
    if (fields.size() != table.columns.size() + 1) {
      throw UsageError(path.string() + " line " + std::to_string(rows[r].line) + ": " +
                       std::to_string(fields.size()) + " fields, the header has " +
                       std::to_string(table.columns.size() + 1));
    }
    table.images.push_back(fields[0]);
    std::vector<double> row;
    for (std::size_t c = 1; c < fields.size(); ++c) {
      try {
        row.push_back(std::stod(fields[c]));
      } catch (const std::exception&) {
        throw UsageError(path.string() + " line " + std::to_string(rows[r].line) + ": '" +
                         fields[c] + "' in column " + table.columns[c - 1] + " is not a number");
      }
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace medpipe
