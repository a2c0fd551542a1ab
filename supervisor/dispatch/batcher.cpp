#include "supervisor/dispatch/batcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "supervisor/codec/request_frame.hpp"
#include "supervisor/dispatch/batch_rules.hpp"
#include "supervisor/worker_error.hpp"
#include "transport/bug.hpp"
#include "transport/frame.hpp"

namespace ringserve::supervisor::dispatch {

struct Batcher::Open {
  Batcher* batcher = nullptr;
  const ModelCounters* key = nullptr;
  std::shared_ptr<const ModelRoute> model;
  std::shared_ptr<LaneClient> lane;  // declared before the members: their arenas free through it
  RouteTarget route;
  std::vector<Member> members;
  std::uint64_t rows = 0;
  Event timer;
};

struct Batcher::Sent {
  std::shared_ptr<LaneClient> lane;  // declared first: destroyed after the blocks it frees
  RouteTarget route;
  std::shared_ptr<const ModelRoute> model;
  std::unique_ptr<RequestArena> inputs;  // the merged input blocks
  std::vector<Member> members;
};

Batcher::Batcher(Dispatcher& dispatcher, EventLoop& loop, LoopLanes& lanes)
    : d_(dispatcher), loop_(loop), lanes_(lanes), alive_(std::make_shared<Batcher*>(this)) {}

Batcher::~Batcher() = default;

BasicResult<Target, Error> Batcher::target(const ModelRoute& model, const std::string& version) {
  auto chosen = chooseWorker(model, version, lanes_);
  if (chosen && chosen->queued == 0) return chosen;  // an idle worker takes the request at once
  auto it = open_.find(model.counters.get());
  if (it != open_.end() && !it->second.empty()) {
    Open& o = *it->second.front();
    if (!o.lane->link()->dead())
      return Target{&o.route, o.lane.get(), static_cast<int>(o.lane->link()->inFlight.load(std::memory_order_relaxed))};
  }
  return chosen;
}

void Batcher::workerAnswered(LaneClient&) {
  if (!open_.empty()) flushIdleAtEndOfTurn();
}

// Deferred to the end of the loop's turn, so that requests read in the same turn (a burst of
// clients answering their previous responses together) join the batch before it leaves.
void Batcher::flushIdleAtEndOfTurn() {
  loop_.atEndOfTurn(this, [alive = std::weak_ptr<Batcher*>(alive_)] {
    if (auto self = alive.lock()) (*self)->flushIdle();
  });
}

void Batcher::flushIdle() {
  std::vector<Open*> idle;
  for (auto& [key, list] : open_)
    for (auto& o : list)
      if (o->lane->link()->inFlight.load(std::memory_order_relaxed) == 0) idle.push_back(o.get());
  for (auto* o : idle) flush(*o);
}

void Batcher::join(std::shared_ptr<Call> call, codec::DecodedRequest request, RequestArena arena, std::uint64_t rows,
                   const Target& target) {
  const auto& model = call->model;
  const auto max = static_cast<std::uint64_t>(model->settings->maxBatchSize);
  // Copied first: `target` may point into an open batch that the flush below destroys.
  const RouteTarget route = *target.route;
  const std::shared_ptr<LaneClient> lane = target.lane->shared_from_this();
  auto& list = open_[model->counters.get()];
  Open* b = nullptr;
  for (auto& o : list) {
    if (o->lane == lane && mergeable(o->members.front().request, request)) {
      b = o.get();
      break;
    }
  }
  // Read before this request joins: a worker with nothing in flight gets it at once.
  const bool idle = lane->link()->inFlight.load(std::memory_order_relaxed) == 0;
  if (b != nullptr && b->rows + rows > max) {
    flush(*b);  // full for this request: it leaves now, and this request opens the next
    b = nullptr;
  }
  const bool opened = b == nullptr;
  if (b == nullptr) {
    auto& fresh = open_[model->counters.get()];  // flush may have erased the entry
    auto o = std::make_unique<Open>();
    o->batcher = this;
    o->key = model->counters.get();
    o->model = model;
    o->lane = lane;
    o->route = route;
    o->timer = Event::timer(loop_.base(), &Batcher::onTimer, o.get());
    o->timer.add(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::duration<double>(model->settings->maxBatchTime)));
    b = o.get();
    fresh.push_back(std::move(o));
  }
  b->members.push_back(Member{std::move(call), std::move(request), std::move(arena), rows, Clock::now()});
  b->rows += rows;
  if (auto* q = model->counters->batchQueue) q->observe(static_cast<double>(b->members.size()));
  if (b->rows == max) return flush(*b);
  if (opened && idle) flushIdleAtEndOfTurn();
}

void Batcher::onTimer(evutil_socket_t, short, void* arg) {
  auto* o = static_cast<Open*>(arg);
  o->batcher->flush(*o);
}

void Batcher::flush(Open& open) {
  auto& list = open_[open.key];
  auto it = std::find_if(list.begin(), list.end(), [&](const auto& o) { return o.get() == &open; });
  if (RINGSERVE_BUG_IF(it == list.end(), "Batcher::flush", "the batch is not open")) return;
  std::unique_ptr<Open> b = std::move(*it);
  list.erase(it);
  if (list.empty()) open_.erase(b->key);
  b->timer.reset();  // may be inside its own callback: libevent allows it

  // Members answered while they waited (their deadline passed) leave without being sent.
  std::vector<Member> live;
  const auto now = Clock::now();
  const auto& counters = *b->model->counters;
  std::uint64_t rows = 0;
  for (auto& m : b->members) {
    if (counters.batchWait != nullptr)
      counters.batchWait->observe(std::chrono::duration<double>(now - m.joined).count());
    if (!m.call->writer) {
      d_.abort(*m.call, {});
      continue;
    }
    rows += m.rows;
    live.push_back(std::move(m));
  }
  if (live.empty()) return;
  if (counters.batchSize != nullptr) counters.batchSize->observe(static_cast<double>(rows));
  if (live.size() == 1) return sendAlone(b->lane, b->route, live.front());
  submitMerged(*b, std::move(live));
}

void Batcher::sendAlone(const std::shared_ptr<LaneClient>& lane, const RouteTarget& route, Member& m) {
  m.call->submitted = m.joined;  // the wait in the batcher is queue time
  auto tag = d_.submitOne(m.call, m.request, m.arena, route, *lane);
  if (!tag) d_.abort(*m.call, tag.error());
}

// One block per input holding every member's rows in order, the members' own blocks freed, and
// one InferRequest frame for the whole batch. When the arena cannot hold the merged copy, the
// members go one by one instead (their data is already in the arena).
void Batcher::submitMerged(Open& open, std::vector<Member> live) {
  auto sent = std::make_shared<Sent>();
  sent->lane = open.lane;
  sent->route = open.route;
  sent->model = open.model;
  sent->inputs = std::make_unique<RequestArena>(*open.lane);
  const auto& first = live.front().request;
  codec::DecodedRequest merged;
  merged.id = first.id;
  merged.parametersJson = first.parametersJson;
  merged.outputs = first.outputs;
  std::int64_t totalRows = 0;
  for (const auto& m : live) totalRows += static_cast<std::int64_t>(m.rows);
  for (std::size_t i = 0; i < first.inputs.size(); ++i) {
    std::uint64_t bytes = 0;
    for (const auto& m : live) bytes += m.request.inputs[i].size;
    auto block = sent->inputs->allocate(bytes);
    if (!block) {
      spdlog::warn("model {}: no room in worker {}'s arena to merge a batch of {}; sending its requests one by one",
                   open.model->name, open.lane->link()->id, live.size());
      for (auto& m : live) sendAlone(open.lane, open.route, m);
      return;
    }
    std::uint64_t at = 0;
    for (auto& m : live) {
      auto& in = m.request.inputs[i];
      if (in.size > 0) std::memcpy(block->bytes.data() + at, open.lane->bytes(in.offset, in.size).data(), in.size);
      in.offset = block->offset + at;
      at += in.size;
    }
    auto shape = first.inputs[i].shape;
    shape[0] = totalRows;
    merged.inputs.push_back(codec::DecodedInput{first.inputs[i].name, first.inputs[i].datatype, std::move(shape),
                                                block->offset, bytes, first.inputs[i].parametersJson});
  }
  for (auto& m : live) m.arena.freeAll();
  RequestArena frameArena(*open.lane);
  auto frame = codec::writeRequestFrame(merged, open.route.handle, frameArena);
  for (std::size_t k = 0; k < live.size(); ++k) {
    auto& call = *live[k].call;
    call.submitted = live[k].joined;
    call.executions = k == 0 ? 1 : 0;
    call.sent = true;
    call.progressAtSend = call.link->shm->progress();
  }
  sent->members = std::move(live);
  if (!frame) {
    for (auto& m : sent->members) d_.abort(*m.call, frame.error());
    return;
  }
  auto tag = open.lane->submit(frame->offset, frame->size, frameArena.take(),
                               [this, sent](Completion& c) { completeMerged(sent, c); });
  if (!tag)
    for (auto& m : sent->members) d_.abort(*m.call, tag.error());
}

void Batcher::completeMerged(const std::shared_ptr<Sent>& sent, Completion& c) {
  auto& members = sent->members;
  if (c.error || c.response->isError()) {
    if (!c.error) {
      auto err = c.response->getError();
      const auto failure = errorFromWorker(err.getCode(), err.getMessage().cStr());
      std::size_t live = 0;
      for (const auto& m : members) live += m.call->writer ? 1 : 0;
      if (failure.kind == ErrorKind::badInput && live > 1) return retryAlone(sent);
    }
    for (auto& m : members) d_.complete(*m.call, c);
    return workerAnswered(*c.lane);
  }
  std::vector<std::uint64_t> rows;
  std::vector<std::string_view> ids;
  for (const auto& m : members) {
    rows.push_back(m.rows);
    ids.push_back(m.request.id);
  }
  // Guarded: a worker's frame may still throw while read (transport/frame.hpp), and every member
  // must be answered whatever it holds.
  auto read = transport::readGuarded([&] {
    return splitResult(c.response->getOk(), rows, ids,
                       [&c](std::uint64_t off, std::uint64_t size) { return c.outputBytes(off, size); });
  });
  auto parts = read ? std::move(read.value())
                    : Expected<std::vector<MemberResult>>(internalError(
                          "worker " + sent->lane->link()->id + " sent a malformed response: " + read.error().message));
  if (!parts) {
    spdlog::error("model {}: worker {} answered a batch of {} wrongly: {}", sent->model->name, sent->lane->link()->id,
                  members.size(), parts.error().message);
    for (auto& m : members) d_.abort(*m.call, parts.error());
    return workerAnswered(*c.lane);
  }
  const auto completed = Clock::now();
  for (std::size_t k = 0; k < members.size(); ++k) {
    auto& call = *members[k].call;
    call.completed = completed;
    if (d_.settle(call)) d_.answer(call, c, parts.value()[k].result());
  }
  workerAnswered(*c.lane);
}

// A bad-input failure of a merged predict does not say which member caused it: each live member
// is sent again on its own, its inputs read in place as slices of the merged blocks (kept by
// `sent` until the last retry answers), so only the bad request fails.
void Batcher::retryAlone(const std::shared_ptr<Sent>& sent) {
  spdlog::info("model {}: a batch of {} failed with bad input on worker {}; retrying its requests one by one",
               sent->model->name, sent->members.size(), sent->lane->link()->id);
  for (auto& m : sent->members) {
    if (!m.call->writer) {
      d_.abort(*m.call, {});
      continue;
    }
    m.call->executions = 1;
    RequestArena frameArena(*sent->lane);  // only the frame: the tensors are slices of `sent`'s blocks
    auto tag = d_.submitOne(m.call, m.request, frameArena, sent->route, *sent->lane, sent);
    if (!tag) d_.abort(*m.call, tag.error());
  }
}

}  // namespace ringserve::supervisor::dispatch
