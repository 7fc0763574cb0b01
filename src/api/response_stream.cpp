#include "api/response_stream.h"

namespace mms::api {

void ResponseStream::Push(std::string chunk) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    chunks_.push_back(std::move(chunk));
    wake = wakeup_;
  }
  if (wake) wake();
}

void ResponseStream::Close() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    wake = wakeup_;
  }
  if (wake) wake();
}

void ResponseStream::SetWakeup(std::function<void()> wakeup) {
  std::lock_guard<std::mutex> lock(mutex_);
  wakeup_ = std::move(wakeup);
}

bool ResponseStream::Take(std::string& out) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (!chunks_.empty()) {
    out += chunks_.front();
    chunks_.pop_front();
  }
  return closed_;
}

void ResponseStream::SetLogField(const std::string& name, double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  log_fields_[name] = value;
}

std::map<std::string, double> ResponseStream::log_fields() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_fields_;
}

}  // namespace mms::api
