#include "supervisor/core/op_queue.hpp"

namespace ringserve::supervisor {

void OpQueue::submit(const std::string& name, Op op, Done done) {
  auto& q = queues_[name];
  q.push_back({std::move(op), std::move(done)});
  if (q.size() == 1) runNext(name);
}

std::size_t OpQueue::pending(const std::string& name) const {
  auto it = queues_.find(name);
  return it == queues_.end() ? 0 : it->second.size();
}

void OpQueue::runNext(const std::string& name) {
  auto it = queues_.find(name);
  if (it == queues_.end() || it->second.empty()) return;
  // A copy: the op may complete synchronously, which pops the entry it came from.
  auto op = it->second.front().op;
  op([this, name](Expected<std::string> r) {
    auto jt = queues_.find(name);
    if (jt == queues_.end() || jt->second.empty()) return;  // completed twice: ignored
    auto done = std::move(jt->second.front().done);
    jt->second.pop_front();
    if (jt->second.empty())
      queues_.erase(jt);
    else
      main_.post([this, name] { runNext(name); });
    done(std::move(r));
  });
}

}  // namespace ringserve::supervisor
