// The dynamic batcher, as Triton's: requests from many connections wait in one queue
// per model version and run together, so that a model executes one batch of N items
// instead of N batches of one.
//
//   callers --Submit/SubmitMany--> [ FIFO queue of items ] --> instance worker 0 --> executor(batch, 0)
//                                                          \-> instance worker 1 --> executor(batch, 1)
//
// Each model instance has a worker thread that, when free, takes the oldest items from
// the shared queue. A separate timer thread fails items whose timeout passes while they
// wait, so that a caller is answered on time even when every instance is busy or no
// batch ever forms. Every future handed out is satisfied exactly once: by a result, by
// the executor's exception, by a timeout, or by shutdown.
//
// The class is generic over the work item and its result so that it can be tested with
// plain integers and used with whatever the model pipeline consumes.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/error.h"

namespace mms::runtime {

struct BatcherConfig {
  // Most items one execution receives. A request with more items than this is split
  // across consecutive batches (its items stay in order).
  int max_batch_size = 1;
  // Sizes the model runs best at. When set, a batch is formed at once when the largest
  // preferred size is queued (and is never larger than that); when the delay expires, the
  // largest preferred size that fits what is queued is taken, else everything queued.
  std::vector<int> preferred_batch_sizes;
  // How long the oldest item may wait for others to join its batch.
  std::chrono::microseconds max_queue_delay{0};
  // Most requests (a SubmitMany call is one request) waiting; 0 = unbounded.
  size_t max_queue_size = 0;
  // Timeout of a request that gives none; 0 = none.
  std::chrono::microseconds default_timeout{0};
  // Model instances, one worker thread each; batches run concurrently on different ones.
  int instance_count = 1;
  // false = the "batching off" baseline: each request runs as a batch of its own items
  // (still at most max_batch_size of them), never waiting for or joining others.
  bool enabled = true;
};

struct BatchSizeStats {
  uint64_t count = 0;       // executions of this batch size
  uint64_t compute_ns = 0;  // their total executor time
};

// Counters in the spirit of Triton's statistics extension. Counts are of items.
struct BatcherStats {
  uint64_t success_count = 0;   // items answered with a result
  uint64_t failure_count = 0;   // accepted items answered with an error (executor error, timeout, shutdown)
  uint64_t timeout_count = 0;   // of failure_count: timed out in the queue
  uint64_t rejected_count = 0;  // items refused by Submit (queue full, shutting down); not in failure_count
  uint64_t queue_count = 0;     // items that left the queue into a batch
  uint64_t queue_ns = 0;        // their total time in the queue
  uint64_t execution_count = 0;  // batches executed (whether the executor succeeded or threw)
  uint64_t compute_ns = 0;       // total executor time
  std::map<int, BatchSizeStats> batch_stats;  // per batch size
  size_t queue_length = 0;     // items waiting now
  size_t queued_requests = 0;  // requests waiting now (what max_queue_size bounds)
};

// Called after every execution, on the worker thread, before the batch's futures are
// satisfied. Exceptions it throws are ignored: metrics must not take a model down.
using BatchObserver = std::function<void(int batch_size, std::chrono::nanoseconds queue_time_of_oldest,
                                         std::chrono::nanoseconds compute_time)>;

// How long the destructor lets queued work run when Shutdown was not called.
inline constexpr std::chrono::milliseconds kDefaultShutdownDeadline{5000};

// The batch-forming rule, kept apart from the threads so that it can be read and tested
// alone. `queued` items wait; `delay_expired` says the oldest has waited max_queue_delay
// (or the batcher is shutting down and waits for nobody). Returns how many of the oldest
// items to run now, 0 to keep waiting. Only for enabled batching.
size_t ReadyBatchSize(const BatcherConfig& config, size_t queued, bool delay_expired);

// Throws Error(kInvalidArgument) naming the batcher when the config cannot work.
void ValidateBatcherConfig(const BatcherConfig& config, const std::string& name);

namespace batcher_detail {
Error QueueFullError(const std::string& name, size_t max_queue_size);
Error ShuttingDownError(const std::string& name);
Error ShutDownBeforeRunError(const std::string& name);
Error TimeoutError(const std::string& name, std::chrono::nanoseconds waited, std::chrono::microseconds timeout);
Error WrongResultCountError(const std::string& name, size_t results, size_t items);

// t + d, or time_point::max() where that would overflow (a "forever" delay or timeout).
std::chrono::steady_clock::time_point SaturatingAdd(std::chrono::steady_clock::time_point t,
                                                    std::chrono::microseconds d);
std::chrono::steady_clock::time_point SaturatingAdd(std::chrono::steady_clock::time_point t,
                                                    std::chrono::milliseconds d);
}  // namespace batcher_detail

template <typename Item, typename Result>
class DynamicBatcher {
 public:
  // Runs one batch on model instance `instance` (0..instance_count-1) and returns one
  // result per item, in order. If it throws, every item of that batch fails with the
  // exception. It may be called concurrently for different instances.
  using Executor = std::function<std::vector<Result>(std::vector<Item>& batch, int instance)>;

  // `name` (model:version) appears in error messages. Throws Error(kInvalidArgument) for a
  // bad config. Starts instance_count worker threads and the timer thread.
  DynamicBatcher(std::string name, BatcherConfig config, Executor executor, BatchObserver observer = {});
  ~DynamicBatcher() { Shutdown(kDefaultShutdownDeadline); }

  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Queues one item. `timeout` overrides default_timeout (a value <= 0 means none): an item
  // still queued after it fails with Error(kTimeout) and never reaches the executor.
  // Throws Error(kUnavailable) at once when the queue is full or the batcher shuts down.
  std::future<Result> Submit(Item item, std::optional<std::chrono::microseconds> timeout = {});

  // Queues one request's items atomically, so they stay together and in order (they may
  // still be split across batches of max_batch_size). One future per item, in order. The
  // request counts once against max_queue_size; all its items share one timeout.
  std::vector<std::future<Result>> SubmitMany(std::vector<Item> items,
                                              std::optional<std::chrono::microseconds> timeout = {});

  // Stops accepting work, runs what is queued (without waiting for max_queue_delay), and
  // joins the threads. Items still queued after `deadline` fail with Error(kUnavailable);
  // batches already executing are waited for, not abandoned. Lifts Pause. Safe to call more
  // than once; must not be called from inside the executor (it would join its own thread).
  void Shutdown(std::chrono::milliseconds deadline);

  // Test hook (Triton has one too): while paused no batch is formed, so a test can queue
  // items and then assert exactly which batches run after Resume. Timeouts still fire.
  void Pause();
  void Resume();

  BatcherStats Stats() const;
  const std::string& name() const { return name_; }

 private:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  static constexpr TimePoint kNoDeadline = TimePoint::max();

  struct Entry {
    Item item;
    std::promise<Result> promise;
    TimePoint enqueued;
    TimePoint deadline;                 // kNoDeadline = never times out
    std::chrono::microseconds timeout;  // for the message only
    uint64_t request;                   // items of one request share it (disabled batching runs them alone)
    bool last_of_request;               // removing it removes the request from queued_requests_
  };

  struct Batch {
    std::vector<Item> items;
    std::vector<std::promise<Result>> promises;
    std::chrono::nanoseconds oldest_queue_time{0};
  };

  void RunInstance(int instance);
  void WatchTimeouts();
  // How many front items to take now; 0 = wait (until *wake_at when that is set).
  size_t BatchSizeNowLocked(TimePoint now, std::optional<TimePoint>* wake_at) const;
  Batch TakeLocked(size_t count, TimePoint now);
  void Execute(Batch& batch, int instance);
  // Bookkeeping for an entry leaving the queue (in any way).
  void ForgetLocked(const Entry& entry);
  // Fails every queued item whose deadline has passed.
  void ExpireLocked(TimePoint now);
  // Wakes a Shutdown that waits for the queue to drain.
  void AfterRemovalLocked();
  void StopThreads();

  const std::string name_;
  const BatcherConfig config_;
  const Executor executor_;
  const BatchObserver observer_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;     // workers: items arrived, resumed, stopping, front changed
  std::condition_variable timer_cv_;    // timer thread: earlier deadline, stopping
  std::condition_variable drained_cv_;  // Shutdown: the queue became empty
  std::deque<Entry> queue_;             // FIFO; enqueue times never decrease along it
  std::multiset<TimePoint> deadlines_;  // of queued items that have one; begin() = next to expire
  size_t queued_requests_ = 0;
  uint64_t next_request_ = 0;
  bool paused_ = false;
  bool stopping_ = false;
  BatcherStats stats_;

  std::mutex join_mutex_;  // serializes joining when Shutdown runs on two threads
  std::vector<std::thread> threads_;
};

// ----------------------------------------------------------------------------------------
// Implementation (a template, so it lives in the header).

template <typename Item, typename Result>
DynamicBatcher<Item, Result>::DynamicBatcher(std::string name, BatcherConfig config, Executor executor,
                                             BatchObserver observer)
    : name_(std::move(name)),
      config_(std::move(config)),
      executor_(std::move(executor)),
      observer_(std::move(observer)) {
  ValidateBatcherConfig(config_, name_);
  if (!executor_) ThrowInvalidArgument("batcher of " + name_ + " needs an executor");
  try {
    threads_.reserve(config_.instance_count + 1);
    for (int i = 0; i < config_.instance_count; ++i) threads_.emplace_back([this, i] { RunInstance(i); });
    threads_.emplace_back([this] { WatchTimeouts(); });
  } catch (...) {  // could not start a thread: stop the ones that did start
    Shutdown(std::chrono::milliseconds(0));
    throw;
  }
}

template <typename Item, typename Result>
std::future<Result> DynamicBatcher<Item, Result>::Submit(Item item, std::optional<std::chrono::microseconds> timeout) {
  std::vector<Item> one;
  one.push_back(std::move(item));
  return std::move(SubmitMany(std::move(one), timeout).front());
}

template <typename Item, typename Result>
std::vector<std::future<Result>> DynamicBatcher<Item, Result>::SubmitMany(
    std::vector<Item> items, std::optional<std::chrono::microseconds> timeout) {
  const std::chrono::microseconds limit = timeout.value_or(config_.default_timeout);
  std::vector<std::future<Result>> futures;
  futures.reserve(items.size());
  bool earlier_deadline = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      stats_.rejected_count += items.size();
      throw batcher_detail::ShuttingDownError(name_);
    }
    if (items.empty()) return futures;
    if (config_.max_queue_size > 0 && queued_requests_ >= config_.max_queue_size) {
      stats_.rejected_count += items.size();
      throw batcher_detail::QueueFullError(name_, config_.max_queue_size);
    }
    // The enqueue time is read under the lock so that times never decrease along the
    // queue: the front is always the oldest, which the delay rule relies on.
    const TimePoint now = Clock::now();
    const TimePoint deadline = limit.count() > 0 ? batcher_detail::SaturatingAdd(now, limit) : kNoDeadline;
    const uint64_t request = next_request_++;
    for (size_t i = 0; i < items.size(); ++i) {
      Entry entry{std::move(items[i]), std::promise<Result>(), now, deadline, limit, request, i + 1 == items.size()};
      futures.push_back(entry.promise.get_future());
      queue_.push_back(std::move(entry));
      if (deadline != kNoDeadline) {
        earlier_deadline = earlier_deadline || deadlines_.empty() || deadline < *deadlines_.begin();
        deadlines_.insert(deadline);
      }
    }
    ++queued_requests_;
  }
  // Any idle worker can take it: they are interchangeable, so waking one is enough.
  work_cv_.notify_one();
  if (earlier_deadline) timer_cv_.notify_one();
  return futures;
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::Shutdown(std::chrono::milliseconds deadline) {
  {
    std::unique_lock lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      paused_ = false;
      work_cv_.notify_all();
    }
    const TimePoint until = batcher_detail::SaturatingAdd(Clock::now(), deadline);
    const auto drained = [this] { return queue_.empty(); };
    if (until == TimePoint::max()) drained_cv_.wait(lock, drained);
    else drained_cv_.wait_until(lock, until, drained);
    if (!queue_.empty()) {
      stats_.failure_count += queue_.size();
      // Bookkeeping first, so that whoever sees a future fail also sees the counts.
      std::deque<Entry> left = std::move(queue_);
      queue_.clear();
      for (const Entry& entry : left) ForgetLocked(entry);
      for (Entry& entry : left)
        entry.promise.set_exception(std::make_exception_ptr(batcher_detail::ShutDownBeforeRunError(name_)));
    }
    // Idle workers and the timer thread exit once stopping and the queue is empty.
    work_cv_.notify_all();
    timer_cv_.notify_all();
  }
  StopThreads();
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::StopThreads() {
  std::lock_guard lock(join_mutex_);
  for (std::thread& thread : threads_)
    if (thread.joinable()) thread.join();
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::Pause() {
  std::lock_guard lock(mutex_);
  if (!stopping_) paused_ = true;  // a shutdown must drain, not stall until its deadline
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::Resume() {
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
  }
  work_cv_.notify_all();
}

template <typename Item, typename Result>
BatcherStats DynamicBatcher<Item, Result>::Stats() const {
  std::lock_guard lock(mutex_);
  BatcherStats stats = stats_;
  stats.queue_length = queue_.size();
  stats.queued_requests = queued_requests_;
  return stats;
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::RunInstance(int instance) {
  std::unique_lock lock(mutex_);
  for (;;) {
    const TimePoint now = Clock::now();
    ExpireLocked(now);  // never hand the executor an item that already timed out
    if (queue_.empty()) {
      if (stopping_) return;
      work_cv_.wait(lock);
      continue;
    }
    if (paused_) {
      work_cv_.wait(lock);
      continue;
    }
    std::optional<TimePoint> wake_at;
    const size_t count = BatchSizeNowLocked(now, &wake_at);
    if (count == 0) {
      // Wait for more items or for the oldest one's delay to run out.
      if (wake_at && *wake_at != TimePoint::max()) work_cv_.wait_until(lock, *wake_at);
      else work_cv_.wait(lock);
      continue;
    }
    Batch batch = TakeLocked(count, now);
    // Items left over may already make a batch for another idle instance.
    if (!queue_.empty()) work_cv_.notify_one();
    lock.unlock();
    Execute(batch, instance);
    lock.lock();
  }
}

template <typename Item, typename Result>
size_t DynamicBatcher<Item, Result>::BatchSizeNowLocked(TimePoint now, std::optional<TimePoint>* wake_at) const {
  if (!config_.enabled) {
    // The front request alone, as a server without batching would run it.
    const uint64_t request = queue_.front().request;
    size_t count = 0;
    while (count < queue_.size() && count < static_cast<size_t>(config_.max_batch_size) &&
           queue_[count].request == request)
      ++count;
    return count;
  }
  const TimePoint expiry = batcher_detail::SaturatingAdd(queue_.front().enqueued, config_.max_queue_delay);
  const size_t count = ReadyBatchSize(config_, queue_.size(), stopping_ || now >= expiry);
  if (count == 0) *wake_at = expiry;
  return count;
}

template <typename Item, typename Result>
typename DynamicBatcher<Item, Result>::Batch DynamicBatcher<Item, Result>::TakeLocked(size_t count, TimePoint now) {
  Batch batch;
  batch.items.reserve(count);
  batch.promises.reserve(count);
  batch.oldest_queue_time = now - queue_.front().enqueued;
  for (size_t i = 0; i < count; ++i) {
    Entry& entry = queue_.front();
    stats_.queue_ns += static_cast<uint64_t>(std::chrono::nanoseconds(now - entry.enqueued).count());
    ForgetLocked(entry);
    batch.items.push_back(std::move(entry.item));
    batch.promises.push_back(std::move(entry.promise));
    queue_.pop_front();
  }
  stats_.queue_count += count;
  AfterRemovalLocked();
  return batch;
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::Execute(Batch& batch, int instance) {
  const size_t size = batch.items.size();
  std::vector<Result> results;
  std::exception_ptr error;
  const TimePoint start = Clock::now();
  try {
    results = executor_(batch.items, instance);
    if (results.size() != size)
      error = std::make_exception_ptr(batcher_detail::WrongResultCountError(name_, results.size(), size));
  } catch (...) {
    error = std::current_exception();
  }
  const std::chrono::nanoseconds compute = Clock::now() - start;
  const auto compute_ns = static_cast<uint64_t>(compute.count());

  // Counts first, then the observer, then the futures: a caller that got its answer
  // sees statistics and metrics that already include its batch.
  {
    std::lock_guard lock(mutex_);
    ++stats_.execution_count;
    stats_.compute_ns += compute_ns;
    BatchSizeStats& per_size = stats_.batch_stats[static_cast<int>(size)];
    ++per_size.count;
    per_size.compute_ns += compute_ns;
    (error ? stats_.failure_count : stats_.success_count) += size;
  }
  if (observer_) {
    try {
      observer_(static_cast<int>(size), batch.oldest_queue_time, compute);
    } catch (...) {
    }
  }
  for (size_t i = 0; i < size; ++i) {
    if (error) batch.promises[i].set_exception(error);
    else batch.promises[i].set_value(std::move(results[i]));
  }
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::WatchTimeouts() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_ && queue_.empty()) return;
    if (deadlines_.empty()) {
      timer_cv_.wait(lock);
      continue;
    }
    const TimePoint next = *deadlines_.begin();
    if (Clock::now() < next) {
      timer_cv_.wait_until(lock, next);
      continue;
    }
    ExpireLocked(Clock::now());
  }
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::ExpireLocked(TimePoint now) {
  if (deadlines_.empty() || *deadlines_.begin() > now) return;
  const auto expired = [now](const Entry& entry) { return entry.deadline <= now; };
  std::vector<Entry> gone;
  for (Entry& entry : queue_) {
    if (!expired(entry)) continue;
    ForgetLocked(entry);
    gone.push_back(std::move(entry));
  }
  // What is left of the moved entries keeps its deadline, so the same test removes it.
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(), expired), queue_.end());
  stats_.failure_count += gone.size();
  stats_.timeout_count += gone.size();
  for (Entry& entry : gone)
    entry.promise.set_exception(
        std::make_exception_ptr(batcher_detail::TimeoutError(name_, now - entry.enqueued, entry.timeout)));
  AfterRemovalLocked();
  // The front may have changed, and with it the delay the workers wait for.
  work_cv_.notify_all();
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::ForgetLocked(const Entry& entry) {
  if (entry.deadline != kNoDeadline) deadlines_.erase(deadlines_.find(entry.deadline));
  // A request's items leave in order (or all at once), so its last item leaves last.
  if (entry.last_of_request) --queued_requests_;
}

template <typename Item, typename Result>
void DynamicBatcher<Item, Result>::AfterRemovalLocked() {
  if (stopping_ && queue_.empty()) drained_cv_.notify_all();
}

}  // namespace mms::runtime
