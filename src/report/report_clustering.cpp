// The clustering report's section: what the clusters are (sizes, a map, examples), how their
// number was chosen and, where labels exist, how they agree with them.
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/sections.h"
#include "report/svg.h"

namespace medpipe::report {

namespace {

std::string sizes_table(const nlohmann::json& metrics) {
  std::ostringstream s;
  s << "<table id='cluster-sizes'><thead><tr><th>cluster</th><th>images</th><th>share</th>"
       "</tr></thead><tbody>";
  const nlohmann::json& sizes = metrics["sizes"];
  double total = 0;
  for (const auto& n : sizes) total += n.get<double>();
  for (std::size_t c = 0; c < sizes.size(); ++c)
    s << "<tr><td>" << c << "</td><td>" << sizes[c].get<long>() << "</td><td>"
      << cell_number(total > 0 ? sizes[c].get<double>() / total : 0.0, 3) << "</td></tr>";
  s << "</tbody></table>";
  return s.str();
}

std::string cluster_map(const nlohmann::json& map, std::size_t k) {
  if (!map.is_object() || !map.contains("x")) return "";
  std::vector<Series> series(k);
  for (std::size_t c = 0; c < k; ++c) {
    series[c].name = "cluster " + std::to_string(c);
    series[c].markers = true;
    series[c].line = false;
  }
  for (std::size_t i = 0; i < map["x"].size(); ++i) {
    const auto c = map["cluster"][i].get<std::size_t>();
    if (c >= k) continue;
    series[c].x.push_back(map["x"][i].get<double>());
    series[c].y.push_back(map["y"][i].get<double>());
  }
  ChartSpec spec{"cluster-map", "The images on their first two principal components", "PC 1",
                 "PC 2"};
  spec.width_px = 420, spec.height_px = 340;
  return line_chart(spec, series);
}

std::string selection_chart(const nlohmann::json& selection) {
  if (!selection.is_array() || selection.size() < 2) return "";
  Series score;
  score.name =
      selection[0].contains("bic") ? "BIC (lower is better)" : "silhouette (higher is better)";
  score.markers = true;
  for (const auto& row : selection) {
    score.x.push_back(row["k"].get<double>());
    score.y.push_back(row.contains("bic") ? row["bic"].get<double>()
                                          : row.value("silhouette", 0.0));
  }
  ChartSpec spec{"cluster-choice", "Choosing the number of clusters", "clusters", score.name};
  return line_chart(spec, {score});
}

std::string examples(const nlohmann::json& per_cluster) {
  if (!per_cluster.is_array() || per_cluster.empty()) return "";
  std::ostringstream s;
  s << "<h3>Example images per cluster</h3><table id='cluster-examples'><tbody>";
  for (std::size_t c = 0; c < per_cluster.size(); ++c) {
    s << "<tr><th>" << c << "</th><td class='gallery'>";
    for (const auto& e : per_cluster[c])
      s << "<figure><img alt='" << escape_html(e["image"].get<std::string>()) << "' src='"
        << e["png"].get<std::string>() << "' style='image-rendering:pixelated;width:72px'>"
        << "<figcaption>" << escape_html(e["image"].get<std::string>()) << "</figcaption></figure>";
    s << "</td></tr>";
  }
  s << "</tbody></table>";
  return s.str();
}

std::string contingency(const nlohmann::json& metrics) {
  if (!metrics.contains("contingency")) return "";
  const nlohmann::json& table = metrics["contingency"];
  std::ostringstream s;
  s << "<h3>Clusters against the labels</h3><p>Adjusted Rand index "
    << cell_number(metrics["adjusted_rand_index"], 3) << ", purity "
    << cell_number(metrics["purity"], 3) << ", normalised mutual information "
    << cell_number(metrics["normalized_mutual_info"], 3)
    << ".</p><table id='contingency'><thead><tr><th>class \\ cluster</th>";
  const std::size_t columns = table.empty() ? 0 : table[0].size();
  for (std::size_t c = 0; c < columns; ++c) s << "<th>" << c << "</th>";
  s << "</tr></thead><tbody>";
  for (std::size_t r = 0; r < table.size(); ++r) {
    s << "<tr><th>" << r << "</th>";
    for (const auto& v : table[r]) s << "<td>" << v.get<long>() << "</td>";
    s << "</tr>";
  }
  s << "</tbody></table>";
  return s.str();
}

}  // namespace

std::string clustering_section(const nlohmann::json& metrics, const nlohmann::json& clusters) {
  std::ostringstream s;
  const std::size_t k = metrics.contains("sizes") ? metrics["sizes"].size() : 0;
  s << "<section id='clustering'><h2>Clusters</h2><p>"
    << escape_html(metrics.value("method", std::string("kmeans"))) << " on "
    << escape_html(metrics.value("features", std::string("features"))) << ", " << k << " clusters";
  if (metrics.contains("silhouette")) s << ", silhouette " << cell_number(metrics["silhouette"], 3);
  s << ".</p><div class='plots'>" << sizes_table(metrics);
  if (clusters.is_object()) s << cluster_map(clusters.value("map", nlohmann::json()), k);
  s << selection_chart(metrics.value("selection", nlohmann::json())) << "</div>";
  if (clusters.is_object()) s << examples(clusters.value("examples", nlohmann::json()));
  s << contingency(metrics) << "</section>";
  return s.str();
}

}  // namespace medpipe::report
