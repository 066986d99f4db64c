// core/world.h: the processes of a run. One process by default; the ranks of an MPI job when
// launched by mpirun or srun. Every MPI call of medpipe lives in world_mpi.cpp, behind this
// small interface (as LightGBM keeps its network behind Allreduce).
#pragma once
#include <cstddef>
#include <string>

namespace medpipe {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks on this machine (for dividing its cores between them).
  virtual int local_size() const = 0;
  // Element-wise sums over the ranks, in place; the same summation order on every call, so
  // repeated runs are bit-identical. Throws RunError when the other ranks do not answer
  // within the timeout (a rank died or hangs).
  virtual void allreduce_sum(float* data, std::size_t count) = 0;
  virtual void allreduce_sum(double* data, std::size_t count) = 0;
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job with `exit_code` (a rank that fails must not leave the others
  // waiting).
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// The process's communicator: a single rank until start_world found an MPI launch.
Communicator& world();

// True when this process was started by an MPI launcher (mpirun, srun with PMIx/PMI).
bool launched_by_mpi();

// Starts MPI when launched by one; `timeout_s` bounds every wait for the other ranks.
void start_world(int* argc, char*** argv, double timeout_s);
void set_world_timeout(double timeout_s);
void stop_world();

// Convenience: rank 0 does what is written once (models, results, logs).
inline bool is_lead_rank() {
  return world().rank() == 0;
}

}  // namespace medpipe
