// The LibTorch headers the torch-using stages share, precompiled once.
#pragma once
#include <ATen/ATen.h>
#include <torch/script.h>
