// features/morphology.cpp: IBSI morphological features of the region (3D), and 2D shape
// features for single-slice images (not defined by IBSI: named _NOIBSI).
#include <libqhull_r/qhull_ra.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "features/autocorrelation.h"
#include "features/families.h"
#include "features/mesh.h"

namespace medpipe {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Hull {
  double volume = kNaN, area = kNaN, diameter = kNaN;
};

// Convex hull (qhull) of 3D points: volume, area and the largest distance between its vertices.
Hull convex_hull(const std::vector<std::array<double, 3>>& points) {
  Hull hull;
  if (points.size() < 4) return hull;
  std::vector<double> coords;
  coords.reserve(points.size() * 3);
  for (const auto& p : points) coords.insert(coords.end(), p.begin(), p.end());
  qhT qh_struct;
  qhT* qh = &qh_struct;
  FILE* quiet = std::fopen("/dev/null", "w");
  qh_zero(qh, quiet);
  char options[] = "qhull Qt";
  int failed = qh_new_qhull(qh, 3, static_cast<int>(points.size()), coords.data(), False, options,
                            nullptr, quiet);
  if (!failed) {
    qh_getarea(qh, qh->facet_list);
    hull.volume = qh->totvol;
    hull.area = qh->totarea;
    std::vector<std::array<double, 3>> corners;
    vertexT* vertex;
    FORALLvertices {
      corners.push_back({vertex->point[0], vertex->point[1], vertex->point[2]});
    }
    double best = 0;
    for (std::size_t a = 0; a < corners.size(); ++a)
      for (std::size_t b = a + 1; b < corners.size(); ++b) {
        double dx = corners[a][0] - corners[b][0], dy = corners[a][1] - corners[b][1],
               dz = corners[a][2] - corners[b][2];
        best = std::max(best, dx * dx + dy * dy + dz * dz);
      }
    hull.diameter = std::sqrt(best);
  }
  qh_freeqhull(qh, !qh_ALL);
  int still_long, total_long;
  qh_memfreeshort(qh, &still_long, &total_long);
  std::fclose(quiet);
  return hull;
}

// Eigenvalues (descending) of the sample covariance (n - 1) of the mask's voxel centres, in mm^2.
std::array<double, 3> principal_variances(const RoiVolume& roi, int dims) {
  std::vector<std::array<double, 3>> points;
  for (int z = 0; z < roi.nz; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x)
        if (roi.morph_mask[roi.index(x, y, z)]) {
          points.push_back({x * roi.spacing_mm[0], y * roi.spacing_mm[1], z * roi.spacing_mm[2]});
        }
  double mean[3] = {0, 0, 0};
  for (const auto& p : points)
    for (int a = 0; a < 3; ++a) mean[a] += p[a] / points.size();
  cv::Mat cov = cv::Mat::zeros(dims, dims, CV_64F);
  for (const auto& p : points)
    for (int a = 0; a < dims; ++a)
      for (int b = 0; b < dims; ++b) {
        cov.at<double>(a, b) += (p[a] - mean[a]) * (p[b] - mean[b]) / (points.size() - 1.0);
      }
  cv::Mat values;
  cv::eigen(cov, values);
  std::array<double, 3> out{0, 0, 0};
  for (int a = 0; a < dims; ++a) out[a] = std::max(0.0, values.at<double>(a));
  return out;
}

// Surface area of an ellipsoid with semi-axes a >= b >= c (IBSI's Legendre series to degree 20).
double ellipsoid_area(double a, double b, double c) {
  double alpha = std::sqrt(std::max(0.0, 1 - b * b / (a * a)));
  double beta = std::sqrt(std::max(0.0, 1 - c * c / (a * a)));
  double ab = alpha * beta;
  if (ab == 0) return 4 * M_PI * a * b;  // no eccentricity product: the series' first term
  double x = (alpha * alpha + beta * beta) / (2 * ab);
  double sum = 0, p_prev = 1, p = x;  // Legendre P_0, P_1
  for (int nu = 0; nu <= 20; ++nu) {
    double p_nu = nu == 0 ? 1 : (nu == 1 ? x : p);
    if (nu >= 2) {
      double p_next = ((2 * nu - 1) * x * p - (nu - 1) * p_prev) / nu;
      p_prev = p;
      p = p_next;
      p_nu = p;
    }
    sum += std::pow(ab, nu) / (1 - 4.0 * nu * nu) * p_nu;
  }
  return 4 * M_PI * a * b * sum;
}

double region_mean(const RoiVolume& roi) {
  double sum = 0, n = 0;
  for (std::size_t i = 0; i < roi.size(); ++i) {
    if (roi.int_mask[i]) sum += roi.intensity[i], n += 1;
  }
  return sum / n;
}

std::array<double, 3> centre_of_mass(const RoiVolume& roi, bool weighted) {
  std::array<double, 3> sum{0, 0, 0};
  double total = 0;
  for (int z = 0; z < roi.nz; ++z)
    for (int y = 0; y < roi.ny; ++y)
      for (int x = 0; x < roi.nx; ++x) {
        std::size_t i = roi.index(x, y, z);
        if (weighted ? !roi.int_mask[i] : !roi.morph_mask[i]) continue;
        double w = weighted ? roi.intensity[i] : 1.0;
        sum[0] += w * x * roi.spacing_mm[0];
        sum[1] += w * y * roi.spacing_mm[1];
        sum[2] += w * z * roi.spacing_mm[2];
        total += w;
      }
  return {sum[0] / total, sum[1] / total, sum[2] / total};
}

void add_morphology_3d(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  Mesh mesh = mesh_of_mask(roi.morph_mask, roi.nx, roi.ny, roi.nz, roi.spacing_mm);
  double v = mesh.volume_mm3, a = mesh.area_mm2;
  double voxel_volume = roi.spacing_mm[0] * roi.spacing_mm[1] * roi.spacing_mm[2];
  double sphere = 36 * M_PI * v * v;
  auto com_geometric = centre_of_mass(roi, false), com_weighted = centre_of_mass(roi, true);
  double com_shift = std::sqrt(std::pow(com_geometric[0] - com_weighted[0], 2) +
                               std::pow(com_geometric[1] - com_weighted[1], 2) +
                               std::pow(com_geometric[2] - com_weighted[2], 2));
  Hull hull = convex_hull(mesh.vertices);
  auto lambda = principal_variances(roi, 3);
  std::array<double, 3> lo{INFINITY, INFINITY, INFINITY}, hi{-INFINITY, -INFINITY, -INFINITY};
  for (const auto& p : mesh.vertices)
    for (int k = 0; k < 3; ++k) lo[k] = std::min(lo[k], p[k]), hi[k] = std::max(hi[k], p[k]);
  double ex = hi[0] - lo[0], ey = hi[1] - lo[1], ez = hi[2] - lo[2];
  double semi[3] = {2 * std::sqrt(lambda[0]), 2 * std::sqrt(lambda[1]), 2 * std::sqrt(lambda[2])};
  auto [moran, geary] = morans_i_gearys_c(roi, s.moran_max_voxels);
  out.insert(
      out.end(),
      {{"morph_volume_RNU0", v},
       {"morph_vol_approx_YEKZ", roi.morph_count() * voxel_volume},
       {"morph_area_mesh_C0JK", a},
       {"morph_av_2PR5", a / v},
       {"morph_comp_1_SKGS", v / (std::sqrt(M_PI) * std::pow(a, 1.5))},
       {"morph_comp_2_BQWJ", sphere / (a * a * a)},
       {"morph_sph_dispr_KRCK", a / std::cbrt(sphere)},
       {"morph_sphericity_QCFX", std::cbrt(sphere) / a},
       {"morph_asphericity_25C7", std::cbrt(a * a * a / sphere) - 1},
       {"morph_com_KLMA", com_shift},
       {"morph_diam_L0JK", hull.diameter},
       {"morph_pca_maj_axis_TDIC", 4 * std::sqrt(lambda[0])},
       {"morph_pca_min_axis_P9VJ", 4 * std::sqrt(lambda[1])},
       {"morph_pca_least_axis_7J51", 4 * std::sqrt(lambda[2])},
       {"morph_pca_elongation_Q3CK", lambda[0] > 0 ? std::sqrt(lambda[1] / lambda[0]) : kNaN},
       {"morph_pca_flatness_N17B", lambda[0] > 0 ? std::sqrt(lambda[2] / lambda[0]) : kNaN},
       {"morph_v_dens_aabb_PBX1", v / (ex * ey * ez)},
       {"morph_a_dens_aabb_R59B", a / (2 * (ex * ey + ex * ez + ey * ez))},
       {"morph_v_dens_aee_6BDE", 3 * v / (4 * M_PI * semi[0] * semi[1] * semi[2])},
       {"morph_a_dens_aee_RDD2", a / ellipsoid_area(semi[0], semi[1], semi[2])},
       {"morph_v_dens_conv_hull_R3ER", v / hull.volume},
       {"morph_a_dens_conv_hull_7T7F", a / hull.area},
       {"morph_integ_int_99N0", v * region_mean(roi)},
       {"morph_moran_i_N365", moran},
       {"morph_geary_c_NPT7", geary}});
}

// Shape of a single-slice region: IBSI defines morphology in 3D only, so these are _NOIBSI.
void add_morphology_2d(const RoiVolume& roi, FeatureRow& out) {
  Outline outline = outline_of_slice(roi.morph_mask, roi.nx, roi.ny, 0, roi.spacing_mm);
  double area = outline.area_mm2, perimeter = outline.perimeter_mm;
  std::vector<cv::Point2d> points;
  for (const auto& p : outline.points) points.emplace_back(p[0], p[1]);
  double hull_area = kNaN, hull_perimeter = kNaN, diameter = 0;
  if (points.size() >= 3) {
    std::vector<cv::Point2f> points_f(points.begin(), points.end()), hull;
    cv::convexHull(points_f, hull);
    hull_area = cv::contourArea(hull);
    hull_perimeter = cv::arcLength(hull, true);
    for (std::size_t a = 0; a < hull.size(); ++a)
      for (std::size_t b = a + 1; b < hull.size(); ++b) {
        diameter = std::max(diameter, double(cv::norm(hull[a] - hull[b])));
      }
  }
  auto lambda = principal_variances(roi, 2);
  double pixel_area = roi.spacing_mm[0] * roi.spacing_mm[1];
  out.insert(out.end(), {{"morph2d_area_mesh_NOIBSI", area},
                         {"morph2d_area_pixels_NOIBSI", roi.morph_count() * pixel_area},
                         {"morph2d_perimeter_NOIBSI", perimeter},
                         {"morph2d_perimeter_area_ratio_NOIBSI", perimeter / area},
                         {"morph2d_circularity_NOIBSI", 4 * M_PI * area / (perimeter * perimeter)},
                         {"morph2d_max_diameter_NOIBSI", diameter},
                         {"morph2d_pca_maj_axis_NOIBSI", 4 * std::sqrt(lambda[0])},
                         {"morph2d_pca_min_axis_NOIBSI", 4 * std::sqrt(lambda[1])},
                         {"morph2d_pca_elongation_NOIBSI",
                          lambda[0] > 0 ? std::sqrt(lambda[1] / lambda[0]) : kNaN},
                         {"morph2d_area_dens_conv_hull_NOIBSI", area / hull_area},
                         {"morph2d_perim_dens_conv_hull_NOIBSI", perimeter / hull_perimeter},
                         {"morph2d_integ_int_NOIBSI", area * region_mean(roi)}});
}

}  // namespace

void add_morphology_features(const RoiVolume& roi, const FeatureSettings& s, FeatureRow& out) {
  if (roi.nz == 1) {
    add_morphology_2d(roi, out);
  } else {
    add_morphology_3d(roi, s, out);
  }
}

}  // namespace medpipe
