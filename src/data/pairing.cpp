#include "data/pairing.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "core/error.h"
#include "core/text.h"
#include "io/image_io.h"
#include "storage/storage.h"

namespace medpipe {

namespace {
std::string list_some(const std::vector<std::string>& items) {
  std::string out;
  std::size_t shown = std::min<std::size_t>(items.size(), 20);
  for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > shown) out += ", ... (" + std::to_string(items.size() - shown) + " more)";
  return out;
}
// A folder with at least one DICOM file (.dcm or no extension) is one series: one image.
bool is_dicom_series_folder(const fs::path& folder) {
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (it->is_regular_file(entry_ec) && looks_like_image_file(it->path()) &&
        guess_image_format(it->path()) == ImageFormat::kDicom)
      return true;
  }
  return false;
}
}  // namespace

fs::path images_folder(const fs::path& bucket) {
  std::error_code ec;
  if (!fs::is_directory(bucket / "images", ec)) return bucket;
  for (fs::directory_iterator it(bucket, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (it->is_regular_file(entry_ec) && looks_like_image_file(it->path())) return bucket;
  }
  return bucket / "images";
}

std::vector<Sample> list_images(const fs::path& images_dir, const std::string& key) {
  std::vector<Sample> images;
  std::map<std::string, fs::path> by_name;
  std::vector<std::string> duplicates;
  std::vector<fs::path> entries = list_folder(images_dir, key);
  for (const auto& folder : list_subfolders(images_dir))
    if (is_dicom_series_folder(folder)) entries.push_back(folder);
  for (const auto& file : entries) {
    std::error_code ec;
    const bool folder = fs::is_directory(file, ec);
    if (!folder && !looks_like_image_file(file)) continue;
    // trimmed as the labels CSV's names are, so "a .png" is the image "a" of the CSV's "a"
    std::string name = trim(folder ? file.filename().string() : image_name(file));
    auto [it, inserted] = by_name.emplace(name, file);
    if (!inserted) {
      duplicates.push_back(name + " (" + it->second.filename().string() + " and " +
                           file.filename().string() + ")");
      continue;
    }
    images.push_back({name, file, NoTarget{}});
  }
  if (!duplicates.empty()) {
    throw UsageError(images_dir.string() + ": several files share an image name: " +
                     list_some(duplicates) + "; keep one file per name");
  }
  if (images.empty()) {
    throw UsageError("event key '" + key + "': " + images_dir.string() +
                     " holds no images (DICOM, PNG, JPEG, TIFF or NIfTI); check the path");
  }
  std::sort(images.begin(), images.end(),
            [](const Sample& a, const Sample& b) { return a.name < b.name; });
  return images;
}

PairedSet pair_with_labels(std::vector<Sample> images, const LabelTable& labels, int num_classes) {
  std::map<std::string, const LabelRow*> by_image;
  for (const auto& row : labels.rows) by_image[row.image] = &row;
  std::vector<std::string> unlabelled, missing, out_of_range;
  int max_level = 0;
  for (auto& sample : images) {
    auto it = by_image.find(sample.name);
    if (it == by_image.end()) {
      unlabelled.push_back(sample.name);
      continue;
    }
    sample.target = ClassTarget{it->second->level};
    max_level = std::max(max_level, it->second->level);
    by_image.erase(it);
  }
  for (const auto& [name, row] : by_image)
    missing.push_back(name + " (line " + std::to_string(row->line) + ")");
  PairedSet set;
  set.num_classes = num_classes > 0 ? num_classes : max_level + 1;
  if (num_classes > 0) {
    for (const auto& row : labels.rows) {
      if (row.level >= num_classes) {
        out_of_range.push_back(row.image + " has level " + std::to_string(row.level) + " (line " +
                               std::to_string(row.line) + ")");
      }
    }
  }
  std::string problems;
  const std::string csv = labels.source.string();
  if (!unlabelled.empty()) {
    problems += "\n  " + std::to_string(unlabelled.size()) + " image(s) without a label in " + csv +
                ": " + list_some(unlabelled);
  }
  if (!missing.empty()) {
    problems += "\n  " + std::to_string(missing.size()) + " label(s) in " + csv +
                " without an image: " + list_some(missing);
  }
  if (!out_of_range.empty()) {
    problems += "\n  " + std::to_string(out_of_range.size()) + " level(s) not below num_classes " +
                std::to_string(num_classes) + ": " + list_some(out_of_range);
  }
  if (!problems.empty()) {
    throw UsageError("the labels do not match the images:" + problems +
                     "\nmake every image name (file name without extension) appear once in the "
                     "CSV with a level from 0 to num_classes-1");
  }
  if (set.num_classes < 2) {
    throw UsageError(csv + ": every label is " + std::to_string(max_level) +
                     "; a classifier needs at least two classes (or set num_classes)");
  }
  set.samples = std::move(images);
  return set;
}

namespace {

std::vector<bool> stratified_part(const std::vector<Sample>& samples, double val_fraction,
                                  int num_classes, unsigned seed) {
  std::vector<std::vector<std::size_t>> by_class(
      static_cast<std::size_t>(std::max(num_classes, 1)));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    by_class[static_cast<std::size_t>(std::max(samples[i].class_index(), 0))].push_back(i);
  }
  std::mt19937 rng(seed);
  std::vector<bool> is_val(samples.size(), false);
  for (auto& members : by_class) {
    std::shuffle(members.begin(), members.end(), rng);
    auto n_val = static_cast<std::size_t>(val_fraction * static_cast<double>(members.size()) + 0.5);
    if (members.size() >= 2)
      n_val = std::clamp<std::size_t>(n_val, 1, members.size() - 1);
    else
      n_val = 0;
    for (std::size_t k = 0; k < n_val; ++k) is_val[members[k]] = true;
  }
  return is_val;
}

std::vector<bool> random_part(std::size_t count, double val_fraction, std::uint64_t seed) {
  std::vector<bool> is_val(count, false);
  if (count < 2) return is_val;
  std::vector<std::size_t> order(count);
  for (std::size_t i = 0; i < count; ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  auto n_val = static_cast<std::size_t>(std::lround(val_fraction * static_cast<double>(count)));
  n_val = std::clamp<std::size_t>(n_val, 1, count - 1);
  for (std::size_t k = 0; k < n_val; ++k) is_val[order[k]] = true;
  return is_val;
}

}  // namespace

std::pair<std::vector<Sample>, std::vector<Sample>> validation_split(
    const std::vector<Sample>& samples, double val_fraction, int num_classes, int seed) {
  const bool classes =
      !samples.empty() && std::holds_alternative<ClassTarget>(samples.front().target);
  std::vector<bool> is_val =
      classes ? stratified_part(samples, val_fraction, num_classes, static_cast<unsigned>(seed))
              : random_part(samples.size(), val_fraction, static_cast<std::uint64_t>(seed));
  std::pair<std::vector<Sample>, std::vector<Sample>> out;
  for (std::size_t i = 0; i < samples.size(); ++i)
    (is_val[i] ? out.second : out.first).push_back(samples[i]);
  return out;
}

}  // namespace medpipe
