// The report's segmentation section: per class, a sortable per-image table, Dice per image and
// the best and worst cases as pictures.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/sections.h"
#include "report/svg.h"

namespace medpipe::report {

namespace {

const char* const kScoreHeader = "<th>Dice</th><th>Jaccard</th><th>HD95</th><th>ASSD</th>";

std::string score_cells(const nlohmann::json& row) {
  return "<td>" + cell_number(row["dice"]) + "</td><td>" + cell_number(row["jaccard"]) +
         "</td><td>" + cell_number(row["hausdorff95"], 2) + "</td><td>" +
         cell_number(row["assd"], 2) + "</td>";
}

double dice_or_minus_one(const nlohmann::json& row) {
  return row["dice"].is_number() ? row["dice"].get<double>() : -1.0;
}

std::string per_image_table(const nlohmann::json& m) {
  std::vector<nlohmann::json> rows(m["per_image"].begin(), m["per_image"].end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return dice_or_minus_one(a) < dice_or_minus_one(b);
  });
  std::ostringstream s;
  s << "<p>Worst Dice first; click a column to sort.</p><div class='scroll'>"
    << "<table id='per-image' class='sortable'><thead><tr><th>image</th>" << kScoreHeader
    << "</tr></thead><tbody>";
  for (const auto& r : rows)
    s << "<tr><td>" << escape_html(r["image"].get<std::string>()) << "</td>" << score_cells(r)
      << "</tr>";
  s << "</tbody></table></div>";
  return s.str();
}

// Dice of every image, lowest first: where the failures are, at a glance.
std::string dice_chart(const nlohmann::json& m) {
  std::vector<double> dice;
  for (const auto& r : m["per_image"])
    if (r["dice"].is_number()) dice.push_back(r["dice"].get<double>());
  if (dice.size() < 2) return "";
  std::sort(dice.begin(), dice.end());
  Series s{"Dice", {}, dice};
  for (std::size_t i = 0; i < dice.size(); ++i) s.x.push_back(static_cast<double>(i + 1));
  return line_chart({"dice-per-image", "Dice per image, sorted", "image (rank)", "Dice", 1,
                     static_cast<double>(dice.size()), 0, 1},
                    {s});
}

std::string case_figures(const std::string& id, const std::string& heading,
                         const std::vector<CaseThumbnail>& cases) {
  if (cases.empty()) return "";
  std::ostringstream s;
  s << "<h3>" << heading << "</h3><div class='cases' id='" << id << "'>";
  for (const auto& c : cases) {
    s << "<figure><img src='" << c.png_data_uri << "' alt='" << escape_html(c.image)
      << ": image, ground truth, prediction'><figcaption>" << escape_html(c.image) << ": Dice "
      << cell_number(c.dice, 3) << "</figcaption></figure>";
  }
  s << "</div>";
  return s.str();
}

}  // namespace

std::string segmentation_section(const nlohmann::json& m, const std::vector<CaseThumbnail>& best,
                                 const std::vector<CaseThumbnail>& worst) {
  std::ostringstream s;
  s << "<section id='evaluation'><h2>Evaluation</h2>";
  s << "<h3>Per class</h3><table id='per-class'><thead><tr><th>class</th>" << kScoreHeader
    << "</tr></thead><tbody>";
  for (const auto& c : m["per_class"])
    s << "<tr><td>" << c["class"] << "</td>" << score_cells(c) << "</tr>";
  s << "</tbody></table>";
  s << "<p>Distances in " << escape_html(m.value("distance_units", "pixels"))
    << "; Dice and Jaccard are means over the foreground classes.</p>";
  s << "<div class='plots'>" << dice_chart(m) << "</div>";
  if (!best.empty() || !worst.empty())
    s << "<p>Each picture: the image, the ground truth over it, the prediction over it.</p>";
  s << case_figures("worst-cases", "Worst cases", worst)
    << case_figures("best-cases", "Best cases", best);
  s << "<h3>Per image</h3>" << per_image_table(m) << "</section>";
  return s.str();
}

}  // namespace medpipe::report
