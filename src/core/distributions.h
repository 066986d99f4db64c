// core/distributions.h: tail probabilities of the distributions tests report (Boost.Math).
#pragma once

namespace medpipe {

// Two-sided p of a standard normal z, and the upper tail P(X >= statistic) of a chi-square.
double normal_two_sided_p(double z);
double chi_square_upper_p(double statistic, double df);

}  // namespace medpipe
