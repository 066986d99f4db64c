// The only file that talks to MPI. A watchdog bounds every collective, so a rank that died or
// hangs stops the others with a message instead of a hang.
#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/world.h"

namespace medpipe {

namespace {

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

// Large arrays go in chunks of 4 Mi elements: OpenMPI allocates a temporary buffer of the
// message's size per call, and above glibc's mmap threshold (32 MiB, core/runtime.h) each one
// is fresh memory to fault in: a 234 MB allreduce between 2 ranks took 0.89 s in one call,
// 0.057 s in chunks (bench_allreduce).
constexpr std::size_t kChunkElements = std::size_t{1} << 22;

// Every collective is a blocking MPI call (OpenMPI's tuned algorithms; the non-blocking ones,
// polled, were 60x slower on 64 MB), watched by a thread: past the deadline it prints why and
// ends the process, and mpirun then ends the job. No MPI call is made from the watchdog.
class MpiWorld final : public Communicator {
 public:
  explicit MpiWorld(double timeout_s) : timeout_s_(timeout_s) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    watchdog_ = std::thread([this] { watch(); });
  }
  ~MpiWorld() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    watchdog_.join();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  void set_timeout(double timeout_s) {
    std::lock_guard<std::mutex> lock(mutex_);
    timeout_s_ = timeout_s;
  }

  void allreduce_sum(float* data, std::size_t count) override {
    reduce(data, count, MPI_FLOAT, sizeof(float));
  }
  void allreduce_sum(double* data, std::size_t count) override {
    reduce(data, count, MPI_DOUBLE, sizeof(double));
  }
  void broadcast(void* data, std::size_t bytes, int root) override {
    Watched watched(*this, "broadcast");
    char* p = static_cast<char*>(data);
    for (std::size_t start = 0; start < bytes; start += kChunkElements) {
      int n = static_cast<int>(std::min(kChunkElements, bytes - start));
      check(MPI_Bcast(p + start, n, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
    }
  }
  void barrier() override {
    Watched watched(*this, "barrier");
    check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
  }
  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

 private:
  // Arms the watchdog for one collective.
  struct Watched {
    Watched(MpiWorld& w, const char* what) : world(w) { world.arm(what); }
    ~Watched() { world.disarm(); }
    MpiWorld& world;
  };

  void reduce(void* data, std::size_t count, MPI_Datatype type, std::size_t element_bytes) {
    Watched watched(*this, "gradient exchange");
    char* p = static_cast<char*>(data);
    for (std::size_t start = 0; start < count; start += kChunkElements) {
      int n = static_cast<int>(std::min(kChunkElements, count - start));
      check(
          MPI_Allreduce(MPI_IN_PLACE, p + start * element_bytes, n, type, MPI_SUM, MPI_COMM_WORLD),
          "gradient exchange");
    }
  }

  void check(int code, const char* what) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw RunError("rank " + std::to_string(rank_) + ": MPI failed during the " + what + ": " +
                   std::string(text, length) +
                   " (a rank died?). Relaunch the same command to resume from the last checkpoint");
  }

  void arm(const char* what) {
    std::lock_guard<std::mutex> lock(mutex_);
    what_ = what;
    armed_ = true;
    started_ = Clock::now();
    wake_.notify_all();
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
  }

  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      if (!armed_ || timeout_s_ <= 0) {
        wake_.wait(lock);
        continue;
      }
      auto deadline = started_ + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(timeout_s_));
      auto armed_at = started_;
      wake_.wait_until(lock, deadline);
      if (armed_ && started_ == armed_at && Clock::now() >= deadline && !stopping_) {
        char message[512];
        std::snprintf(message, sizeof message,
                      "rank %d of %d: no answer from the other ranks in %.0f s during the %s (a "
                      "rank died or hangs; see its log). Relaunch the same command to resume "
                      "from the last checkpoint; sync_timeout_s sets this limit",
                      rank_, size_, timeout_s_, what_);
        std::fprintf(stderr, "medpipe: failed: %s\n", message);
        std::fflush(stderr);
        // the event log too (this rank's), since the blocked call never returns to main
        log_event("error", {{"kind", "run"}, {"message", message}});
        log_event("run_end", {{"status", "failed"}, {"exit_code", 1}});
        std::_Exit(1);
      }
    }
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
  double timeout_s_;
  std::thread watchdog_;
  std::mutex mutex_;
  std::condition_variable wake_;
  const char* what_ = "";
  bool armed_ = false, stopping_ = false;
  Clock::time_point started_;
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
