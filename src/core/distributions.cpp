#include "core/distributions.h"

#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>

namespace medpipe {

double normal_two_sided_p(double z) {
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

double chi_square_upper_p(double statistic, double df) {
  if (!(statistic > 0) || !(df > 0)) return 1.0;
  return boost::math::cdf(boost::math::complement(boost::math::chi_squared(df), statistic));
}

}  // namespace medpipe
