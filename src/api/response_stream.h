// A response body that is produced over time (server-sent events of a generation): the
// route answers at once with a stream, a producer on another thread pushes chunks, and the
// connection writes each as an HTTP/1.1 chunk as soon as it arrives, until Close.
//
// The connection registers a wakeup (which posts to its I/O thread) so that no thread
// waits per stream: hundreds of streams cost a queue each, not a thread each.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/cancellation.h"

namespace mms::api {

class ResponseStream {
 public:
  // Producer side, any thread. Pushes after Close are dropped.
  void Push(std::string chunk);
  void Close();

  // Consumer side (the connection). The wakeup is called, from the producer's thread,
  // after every Push and on Close.
  void SetWakeup(std::function<void()> wakeup);
  // Moves what is queued into `out` (appended); true when the stream is closed and
  // nothing more will come.
  bool Take(std::string& out);

  // Set when the client is gone (the connection saw it close or a write fail): the
  // producer registers with it to stop its work.
  CancellationToken& client_gone() { return client_gone_; }

  // What the request's log line adds once the stream ends (token counts, time to first
  // token), set by the producer.
  void SetLogField(const std::string& name, double value);
  std::map<std::string, double> log_fields() const;

 private:
  mutable std::mutex mutex_;
  std::deque<std::string> chunks_;
  bool closed_ = false;
  std::function<void()> wakeup_;
  CancellationToken client_gone_;
  std::map<std::string, double> log_fields_;
};

}  // namespace mms::api
