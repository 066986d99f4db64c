#!/usr/bin/env bash
# Installs medpipe's build, test and benchmark dependencies from Debian's packages.
# Idempotent: packages already present are left alone. Uses sudo when not root.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang-format zlib1g-dev
  # make fuzz: clang with libFuzzer and the sanitizer runtimes
  clang libfuzzer-14-dev libclang-rt-14-dev
  # models and training (LibTorch) and a fast BLAS for it; the -openmp variant
  # shares torch's OpenMP threads instead of fighting them
  libtorch-dev libopenblas0-openmp
  # the binaries' allocator (tcmalloc_minimal): keeps freed activation buffers for the next step
  libgoogle-perftools-dev
  # image I/O
  libdcmtk-dev dcmtk libgdcm-dev libnifti2-dev
  # NRRD (3D Slicer's and PyRadiomics' format) through teem; its `unu` writes the tests' NRRD files
  libteem-dev teem-apps
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  # radiomics: convex hulls (qhull)
  libqhull-dev
  # distributed training, HTTP storage
  libopenmpi-dev openmpi-bin libcurl4-openssl-dev libtinyxml2-dev
  # config, CLI, logging
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  # statistics: tail probabilities of the tests survival analysis reports (Boost.Math, headers)
  libboost-dev
  # a PACS for the DICOMweb tests (started by the tests in their own network namespace)
  orthanc orthanc-dicomweb iproute2 curl
  # a one-machine Slurm cluster for the Slurm test (configured and started by the test)
  slurmd slurmctld slurm-client munge
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev time
  python3-numpy python3-scipy python3-sklearn python3-pydicom python3-pil
  python3-torch python3-torchvision python3-skimage python3-nibabel
  # survival's reference implementation (coxph, survfit, survdiff, concordance)
  r-base-core r-cran-survival
  # the report's browser test: headless Chromium driven by Selenium, with fonts for screenshots
  chromium chromium-driver python3-selenium fonts-dejavu-core
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Packages with services (Orthanc) must not start them: the tests start their own, on loopback
# in a network namespace, and a PACS listening on every interface is not wanted here. Debian's
# policy-rc.d convention (exit 101) says so to invoke-rc.d for the install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Make the OpenMP OpenBLAS the active BLAS/LAPACK (Debian's alternatives).
for alt in libblas.so.3 liblapack.so.3; do
  for arch_dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu; do
    cand="$arch_dir/openblas-openmp/$alt"
    if [ -e "$cand" ]; then
      $SUDO update-alternatives --set "${alt}-$(basename "$arch_dir")" "$cand" >/dev/null 2>&1 || true
    fi
  done
done
echo "install-deps: done"
