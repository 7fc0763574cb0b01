// A one-way signal from whoever notices that work is no longer wanted (the HTTP layer,
// when a client disconnects) to whoever can stop it (a route that queued a generation).
// Thread-safe. Callbacks run once, on the thread that cancels (or at once on the thread
// that registers after the fact), so they must be quick and must not block.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

namespace mms {

class CancellationToken {
 public:
  void Cancel() {
    std::vector<std::function<void()>> run;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cancelled_) return;
      cancelled_ = true;
      run.swap(callbacks_);
    }
    for (auto& f : run) f();
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
  }
  void OnCancel(std::function<void()> callback) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!cancelled_) {
        callbacks_.push_back(std::move(callback));
        return;
      }
    }
    callback();
  }

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  std::vector<std::function<void()>> callbacks_;
};

}  // namespace mms
