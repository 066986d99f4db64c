// The only file that talks to MPI. Collectives are non-blocking calls polled against a
// deadline, so a rank that died or hangs stops the others with a message instead of a hang.
#include <mpi.h>
#include <sched.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/world.h"

namespace medpipe {

namespace {

using Clock = std::chrono::steady_clock;

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  void allreduce_sum(float*, std::size_t) override {}
  void allreduce_sum(double*, std::size_t) override {}
  void broadcast(void*, std::size_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override { std::_Exit(exit_code); }
};

// Large reductions go in buckets of 4 Mi elements, all in flight at once.
constexpr std::size_t kBucketElements = std::size_t{1} << 22;

class MpiWorld final : public Communicator {
 public:
  explicit MpiWorld(double timeout_s) : timeout_s_(timeout_s) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  void set_timeout(double timeout_s) { timeout_s_ = timeout_s; }

  void allreduce_sum(float* data, std::size_t count) override {
    reduce(data, count, MPI_FLOAT, sizeof(float));
  }
  void allreduce_sum(double* data, std::size_t count) override {
    reduce(data, count, MPI_DOUBLE, sizeof(double));
  }
  void broadcast(void* data, std::size_t bytes, int root) override {
    std::vector<MPI_Request> requests;
    char* p = static_cast<char*>(data);
    for (std::size_t start = 0; start < bytes; start += kBucketElements) {
      int n = static_cast<int>(std::min(kBucketElements, bytes - start));
      requests.emplace_back();
      MPI_Ibcast(p + start, n, MPI_BYTE, root, MPI_COMM_WORLD, &requests.back());
    }
    wait(requests, "broadcast");
  }
  void barrier() override {
    std::vector<MPI_Request> requests(1);
    MPI_Ibarrier(MPI_COMM_WORLD, &requests[0]);
    wait(requests, "barrier");
  }
  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

 private:
  void reduce(void* data, std::size_t count, MPI_Datatype type, std::size_t element_bytes) {
    std::vector<MPI_Request> requests;
    char* p = static_cast<char*>(data);
    for (std::size_t start = 0; start < count; start += kBucketElements) {
      int n = static_cast<int>(std::min(kBucketElements, count - start));
      requests.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, p + start * element_bytes, n, type, MPI_SUM, MPI_COMM_WORLD,
                     &requests.back());
    }
    wait(requests, "gradient exchange");
  }

  // Polls the requests until all are done: spinning briefly, then sleeping, so a waiting rank
  // leaves the cores to the ranks still computing. Past the deadline the job is over.
  void wait(std::vector<MPI_Request>& requests, const char* what) {
    if (requests.empty()) return;
    const auto start = Clock::now();
    auto pause = std::chrono::microseconds(20);
    for (long polls = 0;; ++polls) {
      int done = 0;
      MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
      if (done) return;
      double waited_s = std::chrono::duration<double>(Clock::now() - start).count();
      if (timeout_s_ > 0 && waited_s > timeout_s_) {
        throw RunError("rank " + std::to_string(rank_) + " of " + std::to_string(size_) +
                       ": no answer from the other ranks in " + std::to_string(int(waited_s)) +
                       " s during the " + what +
                       " (a rank died or hangs; see its log). Relaunch the same command to "
                       "resume from the last checkpoint; sync_timeout_s sets this limit");
      }
      if (polls < 200) {
        sched_yield();
      } else {
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(2000));
      }
    }
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
  double timeout_s_;
};

std::unique_ptr<Communicator>& current() {
  static std::unique_ptr<Communicator> world = std::make_unique<SingleProcess>();
  return world;
}

}  // namespace

Communicator& world() {
  return *current();
}

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

void start_world(int* argc, char*** argv, double timeout_s) {
  if (!launched_by_mpi()) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  // Errors come back as codes (and stop the job through abort) rather than killing silently.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  current() = std::make_unique<MpiWorld>(timeout_s);
}

void set_world_timeout(double timeout_s) {
  if (auto* mpi = dynamic_cast<MpiWorld*>(current().get())) mpi->set_timeout(timeout_s);
}

void stop_world() {
  if (!dynamic_cast<MpiWorld*>(current().get())) return;
  current() = std::make_unique<SingleProcess>();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace medpipe
