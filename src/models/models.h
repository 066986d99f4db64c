// models/models.h: the networks, built as TorchScript modules in C++ so that the model we train
// is the very model.pt Python's torch.jit.load runs. Every network outputs logits.
#pragma once
#include <torch/script.h>

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace medpipe {

struct ModelSpec {
  std::string arch = "cnn";  // mlp | cnn | cnn3d | alexnet | unet | unet3d
  int in_channels = 1;
  int num_classes = 2;
  int image_size = 64;
  int hidden_units = 256;  // mlp
  int cnn_width = 32;      // cnn: channels of the first stage, doubled per stage
  int cnn_blocks = 2;      // cnn: residual blocks per stage
  double dropout = 0.2;
  int unet_depth = 4;   // unet: 2x2 poolings; inputs must be multiples of 2^depth
  int unet_width = 16;  // unet: channels of the first level, doubled per level (at most 256)
  std::string activation = "relu";  // mlp: relu, or selu (the neural Cox model)
  int image_depth = 0;  // slices of a volume's input (cnn3d) or patch (unet3d), 0 for 2D
  // cnn, cnn3d: SimCLR's projection head, the method project(x) = linear(relu(linear(embed(x))))
  // (width -> width -> projection_dim, parameters proj1_*, proj2_*); 0: none. A network that
  // loads these weights as pretrained (without a head) leaves the head out.
  int projection_dim = 0;
  // Training only, never saved: batch-norm statistics over every data-parallel worker of a
  // step (models/sync_batch_norm.h); networks without batch norm ignore it.
  bool sync_batch_norm = false;
};

// True for the networks with batch norm (cnn, cnn3d, unet, unet3d).
bool has_batch_norm(const ModelSpec& spec);

nlohmann::json model_spec_to_json(const ModelSpec& spec);
ModelSpec model_spec_from_json(const nlohmann::json& json);

// A freshly initialised network (PyTorch's default initialisations), seeded by `seed`.
// `member` > 0 gives the class a distinct name, for ensembles.
torch::jit::Module build_model(const ModelSpec& spec, std::uint64_t seed, int member = 0);

// One module averaging the members' probabilities; its output is log(mean softmax), so a
// softmax of it gives the averaged probabilities.
torch::jit::Module build_ensemble(const std::vector<torch::jit::Module>& members);

// The width of the network's embedding (its embed method's output): cnn and cnn3d 4 x
// cnn_width, alexnet 4096; 0 for the networks without one.
int embedding_width(const ModelSpec& spec);
// Names of the parameters of the last three fully-connected layers (alexnet's classifier).
std::vector<std::string> last3_parameter_names(const ModelSpec& spec);
// Re-initialises the named parameters as PyTorch's nn.Linear would.
void reinitialise_linear(torch::jit::Module& module, const std::string& weight_name,
                         const std::string& bias_name);

// Loads weights into `module` from a TorchScript file or a state dict saved by
// torch.save(model.state_dict()); names "features.0.weight" map to "features_0_weight".
// Parameters whose shape differs (a new last layer) are left as they are and returned.
std::vector<std::string> load_pretrained(torch::jit::Module& module, const std::string& path);

// LibTorch's process-wide settings: `threads` compute threads, and TorchScript graphs run as
// written (the optimising executor's profiling runs and CPU fusion cost the first epoch ~40%
// and gave no steady-state gain on these networks; measured in docs/benchmarks.md).
void configure_torch(int threads);

// The module as it is saved and run outside training: a network built with sync_batch_norm is
// rebuilt with LibTorch's batch norm and the same weights and statistics (Python's
// torch.jit.load knows no medpipe operator); any other module is returned as it is.
torch::jit::Module portable_module(const torch::jit::Module& module);

// True for a network built with sync_batch_norm.
bool synchronises_batch_norm(const torch::jit::Module& module);

// Saves portable_module(module) as TorchScript atomically (temp + rename).
void save_module(torch::jit::Module& module, const std::string& path);

}  // namespace medpipe
